package main

// allcnn viz filters: what a unit detects, unconditioned on an image (paper
// Fig. 2).

import (
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/render"
)

const filtersSynopsis = `viz filters -model FILE [-layers conv1,conv2,conv3] [-units 0-15] [-scale 4] -o OUT.png

Fig. 2 of the paper: what low-layer units detect, without conditioning on an
image. The first row shows the raw filters of the first convolution; then
each layer of -layers gets a row of its units' deconvnet reconstructions
(the unit at the centre of the layer's map sends 1 back to a blank input,
max-pools spreading it evenly), cropped to that unit's receptive field.
Columns are units; a unit a layer lacks leaves its cell blank. Each map is
normalised on its own (zero is grey in the default rgb colormap; the raw
filters are not clipped). -scale enlarges the largest receptive field; rows
with smaller ones are enlarged to about the same size.`

func runVizFilters(args []string, stdout, stderr io.Writer) error {
	fs := flags("viz filters", filtersSynopsis, stderr)
	path := fs.String("model", "", "weight file (required)")
	layers := fs.String("layers", "conv1,conv2,conv3", "comma-separated layers whose units to reconstruct")
	unitList := fs.String("units", "0-15", "the channels to show, like 0-15 or 0,3,8-11")
	scale := fs.Int("scale", 4, "enlargement of the largest receptive field")
	out := fs.String("o", "", "output PNG file (required)")
	renderOpts := renderFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || *scale < 1 || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: viz filters needs -model FILE, -o OUT.png, -scale ≥ 1 and no arguments", errUsage)
	}
	units, err := parseUnits(*unitList)
	if err != nil {
		return err
	}
	opt, err := renderOpts()
	if err != nil {
		return err
	}
	m, err := openModel(*path, stderr)
	if err != nil {
		return err
	}
	net := m.Net()

	// A row of maps (nil: blank) and the side of its receptive field.
	type row struct {
		name string
		maps []image.Image
		side int
	}
	var rows []row
	for _, l := range m.File().Arch.Layers {
		if l.Type != kernel.TypeConv {
			continue
		}
		w := net.Param(l.Name + ".weight") // out × in × k × k
		in, k := w.Shape[1], w.Shape[2]
		raw, rawOpt := row{name: l.Name + " weights", side: k}, opt
		rawOpt.Clip = 0
		for _, u := range units {
			var img image.Image
			if u < w.Shape[0] {
				if img, err = render.Map(w.Data[u*in*k*k:(u+1)*in*k*k], in, k, k, rawOpt, nil); err != nil {
					return fmt.Errorf("%s filter %d: %w", l.Name, u, err)
				}
			}
			raw.maps = append(raw.maps, img)
		}
		rows = append(rows, raw)
		break // the first convolution only
	}
	in := net.Spec.Input
	for _, name := range strings.Split(*layers, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		li, err := net.Unit(name)
		if err != nil {
			return fmt.Errorf("%w: -layers: %v", errUsage, err)
		}
		sh := net.Shapes[li]
		y0, y1, x0, x1 := net.ReceptiveField(li, sh[1]/2, sh[2]/2)
		r := row{name: name, side: max(y1-y0, x1-x0)}
		for _, u := range units {
			var img image.Image
			if u < sh[0] {
				p, err := net.Pattern(name, u)
				if err != nil {
					return err
				}
				crop := cropMap(p.Data, in[0], in[1], in[2], y0, y1, x0, x1)
				if img, err = render.Map(crop, in[0], y1-y0, x1-x0, opt, nil); err != nil {
					return fmt.Errorf("%s unit %d: %w", name, u, err)
				}
			}
			r.maps = append(r.maps, img)
		}
		rows = append(rows, r)
	}

	largest := 1
	for _, r := range rows {
		largest = max(largest, r.side)
	}
	header := []string{""}
	for _, u := range units {
		header = append(header, strconv.Itoa(u))
	}
	cells := make([][]render.Cell, len(rows))
	for i, r := range rows {
		f := max(1, (*scale*largest+r.side/2)/r.side)
		cells[i] = []render.Cell{{Label: r.name}}
		for _, img := range r.maps {
			c := render.Cell{}
			if img != nil {
				c.Image = render.Scale(img, f)
			}
			cells[i] = append(cells[i], c)
		}
	}
	grid, err := render.Grid(cells, 1, header)
	if err != nil {
		return err
	}
	if err := writePNG(*out, grid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d×%d, %d rows × %d units\n", *out, grid.Rect.Dx(), grid.Rect.Dy(), len(rows), len(units))
	return nil
}

// cropMap returns the window [y0,y1) × [x0,x1) of a c×h×w map.
func cropMap(m []float32, c, h, w, y0, y1, x0, x1 int) []float32 {
	out := make([]float32, 0, c*(y1-y0)*(x1-x0))
	for ch := range c {
		for y := y0; y < y1; y++ {
			row := m[(ch*h+y)*w : (ch*h+y+1)*w]
			out = append(out, row[x0:x1]...)
		}
	}
	return out
}
