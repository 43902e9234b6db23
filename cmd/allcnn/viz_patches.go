package main

// allcnn viz top-patches: the image patches that activate a unit most, with their
// reconstructions (paper Fig. 3).

import (
	"container/heap"
	"fmt"
	"io"
	"sort"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/render"
)

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
	rules, err := parseRules(*methods)
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
	li, err := net.Unit(*layer)
	if err != nil {
		return fmt.Errorf("%w: -layer: %v", errUsage, err)
	}
	sh := net.Shapes[li]
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
	in := net.Spec.Input
	best := make([]hits, len(units))
	hw := sh[1] * sh[2]
	prog := newProgress(stderr, "top-patches", len(idx))
	for lo := 0; lo < len(idx); lo += *batch {
		part := idx[lo:min(lo+*batch, len(idx))]
		x, err := inputs(m, d, part)
		if err != nil {
			return err
		}
		act, err := net.ForwardTo(x, li, false)
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
		x, err := inputs(m, d, imgs)
		if err != nil {
			return err
		}
		px, err := pixels(m, d, imgs)
		if err != nil {
			return err
		}
		rows[j] = []render.Cell{{Label: fmt.Sprintf("unit %d", u)}}
		for _, r := range rules {
			sal, _, err := net.Saliency(x, targets, kernel.Rule{ReLU: r, Pool: kernel.Switches})
			if err != nil {
				return err
			}
			for i, h := range hs {
				y0, y1, x0, x1 := net.ReceptiveField(li, h.y, h.x)
				img, err := render.Map(cropMap(sal.Example(i), in[0], in[1], in[2], y0, y1, x0, x1), in[0], y1-y0, x1-x0, opt, nil)
				if err != nil {
					return fmt.Errorf("unit %d, image %d, %s: %w", u, h.img, r, err)
				}
				rows[j] = append(rows[j], render.Cell{Image: img, Label: fmt.Sprintf("#%d", h.img)})
			}
		}
		for i, h := range hs {
			y0, y1, x0, x1 := net.ReceptiveField(li, h.y, h.x)
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
