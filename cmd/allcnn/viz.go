package main

// allcnn viz: the figures of NOTES.md §6 — saliency maps of images (paper
// Figs. 4–6), "viz filters" (Fig. 2) and "viz top-patches" (Fig. 3).

import (
	"container/heap"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/render"
)

const vizSynopsis = `viz -model FILE [-method all] [target flags] [-switches] [render flags] IMAGE... -o OUT.png
       allcnn viz filters -model FILE [-layers conv1,conv2,conv3] [-units 0-15] -o OUT.png
       allcnn viz top-patches -model FILE -data SPEC -layer NAME [-units 0-15] [-k 10] [-method deconvnet,guided] -o OUT.png

Draws what the net sees in each image (paper Figs. 4–6) as a grid: a row per
image; columns: the input as the net sees it (cropped and resampled to the
model's input size, labelled with the predicted class and its probability),
then one saliency map per method, labelled with the target. The methods
differ only at each ReLU (x: its input, g: the signal from above):
  gradient   g·[x > 0]          plain backpropagation
  deconvnet  max(g, 0)          Zeiler & Fergus, ignores x
  guided     max(g, 0)·[x > 0]  guided backpropagation
Target (one of): the top predicted class (default); -class C; -pooled, the
strongest unit of the global average pool "gap"; -layer NAME with -unit K
(-1: the layer's strongest channel) at its strongest position or at -at y,x.
The target is chosen on the net as trained and kept for every column.

-switches adds the same methods with pooling switches ("+sw" columns): on an
all-conv net, the net with each stride-2 conv replaced by a stride-1 conv and
a 2×2 max-pool that records its winners (Figs. 4–5); on a net with max-pools
(Model C, Fig. 6), its pools with switches, while the plain columns then
spread each pool's signal evenly over its window (no switches). Without
-switches, max-pools always use their switches (the true gradient).

The default rendering is the paper's look: the three colour channels, both
signs, zero as grey, |values| clipped at the 99.5th percentile. See 'allcnn
viz filters -help' and 'allcnn viz top-patches -help' for Figs. 2 and 3.
Flags may also follow the images.`

func runViz(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "filters":
			return runVizFilters(args[1:], stdout, stderr)
		case "top-patches":
			return runVizTopPatches(args[1:], stdout, stderr)
		}
	}
	fs := flags("viz", vizSynopsis, stderr)
	path := fs.String("model", "", "weight file (required)")
	methods := fs.String("method", "all", "gradient, deconvnet, guided, a comma-separated list of them, or all")
	class := fs.String("class", "", "target: this class (name or index) instead of the top predicted one")
	pooled := fs.Bool("pooled", false, "target: the strongest unit of the global average pool (the layer named gap)")
	layer := fs.String("layer", "", "target: a unit of this layer (a conv names its rectified output)")
	unit := fs.Int("unit", -1, "with -layer: the unit's channel; -1: the channel holding the layer's strongest activation")
	at := fs.String("at", "", "with -layer: the unit's position y,x (default: where its channel is strongest)")
	switches := fs.Bool("switches", false, "add the methods with pooling switches (see above)")
	overlay := fs.Float64("overlay", 0, "blend each map over the input with this weight in (0,1]; 0: the map alone")
	scale := fs.Int("scale", 4, "enlarge every image this many times")
	out := fs.String("o", "", "output PNG file (required)")
	renderOpts := renderFlags(fs)
	images, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(images) == 0 || *scale < 1 {
		fs.Usage()
		return fmt.Errorf("%w: viz needs -model FILE, IMAGE arguments, -o OUT.png and -scale ≥ 1", errUsage)
	}
	rules, err := parseMethods(*methods)
	if err != nil {
		return err
	}
	opt, err := renderOpts()
	if err != nil {
		return err
	}
	if !(*overlay >= 0 && *overlay <= 1) {
		return fmt.Errorf("%w: -overlay %v: want a weight in [0,1]", errUsage, *overlay)
	}
	opt.Overlay = *overlay
	sel := targetChoice{class: *class, layer: *layer, unit: *unit}
	switch n := btoi(*class != "") + btoi(*pooled) + btoi(*layer != ""); {
	case n > 1:
		return fmt.Errorf("%w: -class, -pooled and -layer choose the target: give one", errUsage)
	case *layer == "" && (*at != "" || *unit != -1):
		return fmt.Errorf("%w: -unit and -at need -layer", errUsage)
	case *pooled:
		sel.layer = "gap"
	}
	if *at != "" {
		ys, xs, ok := strings.Cut(*at, ",")
		y, err1 := strconv.Atoi(strings.TrimSpace(ys))
		x, err2 := strconv.Atoi(strings.TrimSpace(xs))
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("%w: -at %q: want y,x", errUsage, *at)
		}
		sel.at = &[2]int{y, x}
	}

	m, err := openModel(*path, stderr)
	if err != nil {
		return err
	}
	d, err := readImages(images, m.source())
	if err != nil {
		return err
	}
	x, err := m.inputs(d, seq(d.Len()))
	if err != nil {
		return err
	}
	px, err := m.pixels(d, seq(d.Len()))
	if err != nil {
		return err
	}
	probs, err := m.probs(x)
	if err != nil {
		return err
	}
	targets, labels, err := sel.resolve(m, x, probs)
	if err != nil {
		return err
	}

	// The columns: each method on the net, then with -switches on the net
	// with switches.
	type column struct {
		header string
		net    *kernel.Net
		rule   kernel.Rule
	}
	var cols []column
	for _, r := range rules {
		pool := kernel.Switches
		if *switches {
			pool = kernel.NoSwitches
		}
		cols = append(cols, column{r.String(), m.net, kernel.Rule{ReLU: r, Pool: pool}})
	}
	if *switches {
		sw, err := m.net.WithSwitches()
		if err != nil {
			return err
		}
		for _, r := range rules {
			cols = append(cols, column{r.String() + "+sw", sw, kernel.Rule{ReLU: r, Pool: kernel.Switches}})
		}
	}

	in := m.input()
	k := m.net.Classes()
	header := []string{"input"}
	rows := make([][]render.Cell, d.Len())
	for i := range rows {
		img, err := render.Pixels(px.Example(i), in[0], in[1], in[2])
		if err != nil {
			return err
		}
		c := kernel.Argmax(probs[i*k : (i+1)*k])
		rows[i] = []render.Cell{{Image: img, Label: fmt.Sprintf("%s %.1f%%", m.file.Classes[c], 100*probs[i*k+c])}}
	}
	for _, col := range cols {
		header = append(header, col.header)
		ts := targets
		if col.net != m.net {
			ts = switchedTargets(col.net, targets)
		}
		sal, _, err := col.net.Saliency(x, ts, col.rule)
		if err != nil {
			return err
		}
		for i := range rows {
			img, err := render.Map(sal.Example(i), in[0], in[1], in[2], opt, rows[i][0].Image)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", images[i], col.header, err)
			}
			rows[i] = append(rows[i], render.Cell{Image: img, Label: labels[i]})
		}
	}
	grid, err := render.Grid(rows, *scale, header)
	if err != nil {
		return err
	}
	if err := writePNG(*out, grid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d×%d, %d images × %d maps\n", *out, grid.Rect.Dx(), grid.Rect.Dy(), len(rows), len(cols))
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseMethods reads -method.
func parseMethods(s string) ([]kernel.ReLURule, error) {
	if s == "all" {
		return []kernel.ReLURule{kernel.Gradient, kernel.Deconvnet, kernel.Guided}, nil
	}
	var rules []kernel.ReLURule
	for _, name := range strings.Split(s, ",") {
		r, err := kernel.ParseReLURule(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("%w: -method %q: want gradient, deconvnet, guided, a list of them, or all", errUsage, s)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// targetChoice is what the flags ask to explain.
type targetChoice struct {
	class string  // a class name or index; "" with layer "": the top class
	layer string  // a layer's unit instead of a class
	unit  int     // its channel; -1: the strongest
	at    *[2]int // its position; nil: the strongest
}

// resolve picks each image's target on the net as trained, with a cell
// label. A unit's channel and position are fixed here, so that every
// column explains the same unit.
func (c targetChoice) resolve(m *model, x *kernel.Tensor, probs []float32) ([]kernel.Target, []string, error) {
	n, k := x.Shape[0], m.net.Classes()
	targets, labels := make([]kernel.Target, n), make([]string, n)
	if c.layer == "" {
		class := -1
		if c.class != "" {
			var err error
			if class, err = classIndex(m.file.Classes, c.class); err != nil {
				return nil, nil, err
			}
		}
		for i := range targets {
			t := class
			if t < 0 {
				t = kernel.Argmax(probs[i*k : (i+1)*k])
			}
			targets[i], labels[i] = kernel.Target{Channel: t}, "class "+m.file.Classes[t]
		}
		return targets, labels, nil
	}
	li, err := m.net.Unit(c.layer)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: -layer: %v", errUsage, err)
	}
	sh := m.net.Shapes[li]
	if c.unit >= sh[0] || c.unit < -1 {
		return nil, nil, fmt.Errorf("%w: -unit %d: layer %s has channels 0 to %d", errUsage, c.unit, c.layer, sh[0]-1)
	}
	if c.at != nil && (c.at[0] < 0 || c.at[0] >= sh[1] || c.at[1] < 0 || c.at[1] >= sh[2]) {
		return nil, nil, fmt.Errorf("%w: -at %d,%d: layer %s is %d×%d", errUsage, c.at[0], c.at[1], c.layer, sh[1], sh[2])
	}
	for i := range targets {
		targets[i] = kernel.Target{Layer: c.layer, Channel: c.unit, At: c.at}
	}
	// The kernel fixes the channel and position the net explains.
	targets, err = m.net.Resolve(x, targets)
	if err != nil {
		return nil, nil, err
	}
	for i, t := range targets {
		labels[i] = fmt.Sprintf("%s u%d", c.layer, t.Channel)
		if sh[1]*sh[2] > 1 {
			labels[i] += fmt.Sprintf(" (%d,%d)", t.At[0], t.At[1])
		}
	}
	return targets, labels, nil
}

// switchedTargets names the same units in the net with switches: a stride-2
// conv's units there are the output of the pool after it (NAME.pool, see
// kernel.SwitchedSpec), which has the strided conv's size.
func switchedTargets(sw *kernel.Net, ts []kernel.Target) []kernel.Target {
	out := append([]kernel.Target(nil), ts...)
	for i, t := range out {
		if _, ok := sw.Index(t.Layer + ".pool"); ok && t.Layer != "" {
			out[i].Layer = t.Layer + ".pool"
		}
	}
	return out
}

// renderFlags adds the flags that choose how maps are drawn and returns a
// function that reads them once parsed.
func renderFlags(fs *flag.FlagSet) func() (render.Options, error) {
	cmap := fs.String("colormap", "rgb", "rgb (the colour channels, zero is grey: the paper's look), gray, viridis, inferno or coolwarm (these collapse the channels by -reduce)")
	sign := fs.String("sign", "all", "the part of each map to show: all (zero at the colormap's centre), positive, negative or absolute")
	reduce := fs.String("reduce", "sum", "how gray, viridis, inferno and coolwarm collapse the colour channels: sum, max or maxabs")
	clip := fs.Float64("clip", 99.5, "clamp |values| at this percentile before normalising each map (0: no clipping)")
	return func() (render.Options, error) {
		var o render.Options
		signs := map[string]render.Sign{"all": render.All, "positive": render.Positive, "negative": render.Negative, "absolute": render.Absolute}
		reductions := map[string]render.Reduction{"sum": render.Sum, "max": render.Max, "maxabs": render.MaxAbs}
		var ok bool
		if o.Sign, ok = signs[*sign]; !ok {
			return o, fmt.Errorf("%w: -sign %q: want all, positive, negative or absolute", errUsage, *sign)
		}
		if o.Reduce, ok = reductions[*reduce]; !ok {
			return o, fmt.Errorf("%w: -reduce %q: want sum, max or maxabs", errUsage, *reduce)
		}
		o.Colormap = render.Colormap(*cmap)
		if _, err := o.Colormap.At(0); err != nil || *cmap == "" {
			return o, fmt.Errorf("%w: -colormap %q: want rgb, gray, viridis, inferno or coolwarm", errUsage, *cmap)
		}
		if !(*clip >= 0 && *clip <= 100) {
			return o, fmt.Errorf("%w: -clip %v: want a percentile in [0,100]", errUsage, *clip)
		}
		o.Clip = *clip
		return o, nil
	}
}

// writePNG writes img to path; errors name the file.
func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

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

	// A row of maps (nil: blank) and the side of its receptive field.
	type row struct {
		name string
		maps []image.Image
		side int
	}
	var rows []row
	for _, l := range m.file.Arch.Layers {
		if l.Type != kernel.TypeConv {
			continue
		}
		w := m.net.Param(l.Name + ".weight") // out × in × k × k
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
	in := m.input()
	for _, name := range strings.Split(*layers, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		li, err := m.net.Unit(name)
		if err != nil {
			return fmt.Errorf("%w: -layers: %v", errUsage, err)
		}
		sh := m.net.Shapes[li]
		y0, y1, x0, x1 := m.net.ReceptiveField(li, sh[1]/2, sh[2]/2)
		r := row{name: name, side: max(y1-y0, x1-x0)}
		for _, u := range units {
			var img image.Image
			if u < sh[0] {
				p, err := m.net.Pattern(name, u)
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

const patchesSynopsis = `viz top-patches -model FILE -data SPEC -layer NAME [-units 0-15] [-k 10] [-method deconvnet,guided] [-batch 100] [-limit N] -o OUT.png

Fig. 3 of the paper: for each chosen unit (channel) of a layer, the k images
of a data set that activate it most, each at its strongest position (one
patch per image). A row per unit: its number, then a group of k columns per
method of -method (default: the paper's deconvnet and guided
backpropagation, max-pools using their switches), each the reconstructions
of those activations (labelled with the image's index in the data set),
then the k image patches (labelled with the activation), all cropped to the
unit's receptive field. The header names each group above its first column.
The data are read as by 'allcnn eval' (-split test|train; images of another
size are resampled) and run through the net in batches in evaluation mode;
progress goes to stderr every few seconds. -limit bounds the images run
through the net (the data set is still read whole). Units the layer lacks
are skipped.`

func runVizTopPatches(args []string, stdout, stderr io.Writer) error {
	fs := flags("viz top-patches", patchesSynopsis, stderr)
	path := fs.String("model", "", "weight file (required)")
	spec := fs.String("data", "", "data set: cifar10:DIR, cifar100:DIR, folder:DIR or folder:FILE.tar.gz (required)")
	split := fs.String("split", "test", "test or train (cifar data; a folder is read whole)")
	layer := fs.String("layer", "", "the layer whose units to show (required; a conv names its rectified output)")
	unitList := fs.String("units", "0-15", "the channels to show, like 0-15 or 0,3,8-11")
	k := fs.Int("k", 10, "patches per unit")
	methods := fs.String("method", "deconvnet,guided", "the reconstructions, a group of columns each: gradient, deconvnet, guided, a comma-separated list of them, or all")
	batch := fs.Int("batch", 100, "images per forward pass")
	limit := fs.Int("limit", 0, "look at only N images spread evenly over the data set (0: all)")
	scale := fs.Int("scale", 4, "enlarge every image this many times")
	out := fs.String("o", "", "output PNG file (required)")
	renderOpts := renderFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || *spec == "" || *layer == "" || *k < 1 || *batch < 1 || *limit < 0 || *scale < 1 || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: viz top-patches needs -model FILE, -data SPEC, -layer NAME, -o OUT.png, -k, -batch and -scale ≥ 1, and no arguments", errUsage)
	}
	units, err := parseUnits(*unitList)
	if err != nil {
		return err
	}
	rules, err := parseMethods(*methods)
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
	li, err := m.net.Unit(*layer)
	if err != nil {
		return fmt.Errorf("%w: -layer: %v", errUsage, err)
	}
	sh := m.net.Shapes[li]
	var kept []int
	for _, u := range units {
		if u < sh[0] {
			kept = append(kept, u)
		}
	}
	if len(kept) == 0 {
		return fmt.Errorf("%w: -units %s: layer %s has channels 0 to %d", errUsage, *unitList, *layer, sh[0]-1)
	}
	units = kept
	d, err := loadData(*spec, *split, m)
	if err != nil {
		return err
	}
	idx := sample(d.Len(), *limit)
	if len(idx) == 0 {
		return fmt.Errorf("viz top-patches: %s holds no images", *spec)
	}

	// Stream the images through the net to the layer, keeping each unit's
	// k strongest images.
	in := m.input()
	best := make([]hits, len(units))
	hw := sh[1] * sh[2]
	prog := newProgress(stderr, "top-patches", len(idx))
	for lo := 0; lo < len(idx); lo += *batch {
		part := idx[lo:min(lo+*batch, len(idx))]
		x, err := m.inputs(d, part)
		if err != nil {
			return err
		}
		act, err := m.net.ForwardTo(x, li, false)
		if err != nil {
			return err
		}
		for i := range part {
			a := act.Example(i)
			for j, u := range units {
				plane := a[u*hw : (u+1)*hw]
				pos := kernel.Argmax(plane)
				best[j].offer(hit{v: plane[pos], img: idx[lo+i], y: pos / sh[2], x: pos % sh[2]}, *k)
			}
		}
		prog.update(lo+len(part), "")
	}

	// A row per unit: a group of reconstructions per method, then the
	// patches. Every unit has the same number of hits: min(k, images).
	n := min(*k, len(idx))
	header := []string{""}
	for _, r := range rules {
		header = append(header, group(r.String(), n)...)
	}
	header = append(header, group("patches", n)...)
	rows := make([][]render.Cell, len(units))
	for j, u := range units {
		hs := best[j].sorted()
		imgs := make([]int, len(hs))
		targets := make([]kernel.Target, len(hs))
		for i, h := range hs {
			imgs[i] = h.img
			targets[i] = kernel.Target{Layer: *layer, Channel: u, At: &[2]int{h.y, h.x}}
		}
		x, err := m.inputs(d, imgs)
		if err != nil {
			return err
		}
		px, err := m.pixels(d, imgs)
		if err != nil {
			return err
		}
		rows[j] = []render.Cell{{Label: fmt.Sprintf("unit %d", u)}}
		for _, r := range rules {
			sal, _, err := m.net.Saliency(x, targets, kernel.Rule{ReLU: r, Pool: kernel.Switches})
			if err != nil {
				return err
			}
			for i, h := range hs {
				y0, y1, x0, x1 := m.net.ReceptiveField(li, h.y, h.x)
				img, err := render.Map(cropMap(sal.Example(i), in[0], in[1], in[2], y0, y1, x0, x1), in[0], y1-y0, x1-x0, opt, nil)
				if err != nil {
					return fmt.Errorf("unit %d, image %d, %s: %w", u, h.img, r, err)
				}
				rows[j] = append(rows[j], render.Cell{Image: img, Label: fmt.Sprintf("#%d", h.img)})
			}
		}
		for i, h := range hs {
			y0, y1, x0, x1 := m.net.ReceptiveField(li, h.y, h.x)
			patch, err := render.Pixels(cropMap(px.Example(i), in[0], in[1], in[2], y0, y1, x0, x1), in[0], y1-y0, x1-x0)
			if err != nil {
				return err
			}
			rows[j] = append(rows[j], render.Cell{Image: patch, Label: fmt.Sprintf("%.3g", h.v)})
		}
	}
	grid, err := render.Grid(rows, *scale, header)
	if err != nil {
		return err
	}
	if err := writePNG(*out, grid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d×%d, %d units × %d patches from %d images\n", *out, grid.Rect.Dx(), grid.Rect.Dy(), len(units), *k, len(idx))
	return nil
}

// group is the header of a group of n columns: its name above the first.
func group(name string, n int) []string {
	h := make([]string, n)
	h[0] = name
	return h
}

// hit is a unit's activation in one image, at its strongest position.
type hit struct {
	v    float32
	img  int // index in the data set
	y, x int
}

// hits keeps a unit's k strongest hits as a min-heap: the weakest on top,
// and of equal ones the later image, so that ties keep the earlier image.
type hits []hit

func (h hits) Len() int { return len(h) }
func (h hits) Less(i, j int) bool {
	return h[i].v < h[j].v || h[i].v == h[j].v && h[i].img > h[j].img
}
func (h hits) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *hits) Push(x any)   { *h = append(*h, x.(hit)) }
func (h *hits) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// offer keeps e if it is among the k strongest so far. Images arrive in
// order, so an equal activation does not displace an earlier image.
func (h *hits) offer(e hit, k int) {
	if h.Len() < k {
		heap.Push(h, e)
	} else if e.v > (*h)[0].v {
		(*h)[0] = e
		heap.Fix(h, 0)
	}
}

// sorted returns the hits strongest first.
func (h hits) sorted() []hit {
	s := append([]hit(nil), h...)
	sort.Slice(s, func(i, j int) bool { return s[j].v < s[i].v || s[i].v == s[j].v && s[i].img < s[j].img })
	return s
}
