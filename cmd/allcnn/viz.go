package main

// allcnn viz: the figures of NOTES.md §6 — saliency maps of images (paper
// Figs. 4–6), "viz filters" (Fig. 2) and "viz top-patches" (Fig. 3).

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/render"
)

const vizSynopsis = `viz -model FILE [-method all] [target flags] [-switches] [render flags] IMAGE... -o OUT.png
       allcnn viz filters -model FILE [-layers conv1,conv2,conv3] [-units 0-15] -o OUT.png
       allcnn viz top-patches -model FILE -data SPEC -layer NAME [-units 0-15] [-k 10] [-method deconvnet,guided] -o OUT.png
       allcnn viz sanity -model FILE -data SPEC [-n 16] [-method all] [-o PLOT.png] [-json]

Draws what the net sees in each image (paper Figs. 4–6) as a grid: a row per
image; columns: the input as the net sees it (cropped and resampled to the
model's input size, labelled with the predicted class and its probability),
then one saliency map per method, labelled with the target. The paper's
three methods (-method all, the default) differ only at each ReLU (x: its
input, g: the signal from above):
  gradient   g·[x > 0]          plain backpropagation
  deconvnet  max(g, 0)          Zeiler & Fergus, ignores x
  guided     max(g, 0)·[x > 0]  guided backpropagation
Beyond the paper (-method every adds them all):
  smoothgrad, smoothgrad2, vargrad   the mean, mean square or variance of the
             maps of -samples noisy copies (-noise σ, -rule, -seed)
  integrated integrated gradients from a -baseline in -steps points
  gradcam    Grad-CAM at -cam-layer, upsampled; guided-gradcam: times guided
  occlusion  the target's drop when a -window patch is hidden, every -stride
The methods beyond the paper take the gradient's path through max-pools
(switches) unless -switches says otherwise for the plain columns.
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
viz filters -help' and 'allcnn viz top-patches -help' for Figs. 2 and 3, and
'allcnn viz sanity -help' for which maps change when the weights are
randomized (Adebayo et al. 2018).
Flags may also follow the images.`

func runViz(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "filters":
			return runVizFilters(args[1:], stdout, stderr)
		case "top-patches":
			return runVizTopPatches(args[1:], stdout, stderr)
		case "sanity":
			return runVizSanity(args[1:], stdout, stderr)
		}
	}
	fs := flags("viz", vizSynopsis, stderr)
	path := fs.String("model", "", "weight file (required)")
	methods := fs.String("method", "all", "a method (see above), a comma-separated list of them, all (the paper's three) or every (all ten)")
	rule := fs.String("rule", "", "the rule the SmoothGrad family averages: gradient (default), deconvnet or guided")
	samples := fs.Int("samples", 16, "SmoothGrad: noisy copies per image")
	noise := fs.Float64("noise", 0.15, "SmoothGrad: σ of the noise as a fraction of the image's value range")
	seed := fs.Uint64("seed", 0, "SmoothGrad: random seed")
	steps := fs.Int("steps", 32, "integrated gradients: points on the path from the baseline")
	baseline := fs.String("baseline", "zero", "integrated gradients: zero, blur or mean")
	camLayer := fs.String("cam-layer", "", "Grad-CAM: the layer (default: the highest convolution below the class layer with a map larger than 1×1)")
	window := fs.Int("window", 0, "occlusion: the patch side in pixels (default: an eighth of the input)")
	stride := fs.Int("stride", 0, "occlusion: the step in pixels (default: half the window)")
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
	names, err := parseMethods(*methods)
	if err != nil {
		return err
	}
	base := allcnn.Method{Rule: *rule, Layer: *camLayer,
		Noise:       kernel.Noise{Samples: *samples, Level: *noise, Seed: *seed},
		Integration: kernel.Integration{Steps: *steps},
		Occlusion:   kernel.Occlusion{Window: *window, Stride: *stride}}
	if base.Integration.Baseline, err = kernel.ParseBaseline(*baseline); err != nil {
		return fmt.Errorf("%w: -baseline: %w", errUsage, err)
	}
	if *rule != "" {
		if _, err := kernel.ParseReLURule(*rule); err != nil {
			return fmt.Errorf("%w: -rule: %w", errUsage, err)
		}
	}
	if *samples < 1 || *steps < 1 || *window < 0 || *stride < 0 || !(*noise >= 0) {
		return fmt.Errorf("%w: -samples and -steps must be ≥ 1, -window, -stride and -noise ≥ 0", errUsage)
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
	net := m.Net()
	d, err := readImages(images, m.Source())
	if err != nil {
		return err
	}
	x, err := inputs(m, d, seq(d.Len()))
	if err != nil {
		return err
	}
	px, err := pixels(m, d, seq(d.Len()))
	if err != nil {
		return err
	}
	probs, err := m.Probs(x, false)
	if err != nil {
		return err
	}
	targets, labels, err := sel.resolve(m, x)
	if err != nil {
		return err
	}

	// The columns: each method on the net, then with -switches on the net
	// with switches.
	type column struct {
		header string
		net    *kernel.Net
		method allcnn.Method
	}
	var cols []column
	for _, name := range names {
		m := base
		m.Name, m.Spread = name, *switches
		cols = append(cols, column{name, net, m})
	}
	if *switches {
		sw, err := net.WithSwitches()
		if err != nil {
			return err
		}
		for _, name := range names {
			m := base
			m.Name = name
			cols = append(cols, column{name + "+sw", sw, m})
		}
	}

	in := net.Spec.Input
	k := m.Classes()
	header := []string{"input"}
	rows := make([][]render.Cell, d.Len())
	for i := range rows {
		img, err := render.Pixels(px.Example(i), in[0], in[1], in[2])
		if err != nil {
			return err
		}
		c := kernel.Argmax(probs[i*k : (i+1)*k])
		rows[i] = []render.Cell{{Image: img, Label: fmt.Sprintf("%s %.1f%%", m.File().Classes[c], 100*probs[i*k+c])}}
	}
	for _, col := range cols {
		header = append(header, col.header)
		ts := targets
		if col.net != net {
			ts = switchedTargets(col.net, targets)
		}
		sal, _, err := allcnn.Explain(col.net, x, ts, col.method)
		if err != nil {
			return fmt.Errorf("%s: %w", col.header, err)
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

// parseRules reads the -method of top-patches: the paper's rules, which
// reconstruct a unit without an image of their own.
func parseRules(s string) ([]kernel.ReLURule, error) {
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

// parseMethods reads -method: names of allcnn.Methods, "all" (the paper's
// three) or "every" (all of them).
func parseMethods(s string) ([]string, error) {
	switch s {
	case "all":
		return allcnn.Methods[:3], nil
	case "every":
		return allcnn.Methods, nil
	}
	var names []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allcnn.Methods, name) {
			return nil, fmt.Errorf("%w: -method %q: want %s, a list of them, all or every", errUsage, s, strings.Join(allcnn.Methods, ", "))
		}
		names = append(names, name)
	}
	return names, nil
}

// targetChoice is what the flags ask to explain.
type targetChoice struct {
	class string  // a class name or index; "" with layer "": the top class
	layer string  // a layer's unit instead of a class
	unit  int     // its channel; -1: the strongest
	at    *[2]int // its position; nil: the strongest
}

// resolve picks each image's target on the net as trained, with a cell
// label: the flags' class or unit, and where they leave the choice open,
// what kernel.Net.Resolve picks (the top class, the strongest channel, its
// strongest position). The channel and position are fixed here, so that
// every column explains the same unit.
func (c targetChoice) resolve(m *allcnn.Model, x *kernel.Tensor) ([]kernel.Target, []string, error) {
	net, classes := m.Net(), m.File().Classes
	t := kernel.Target{Layer: c.layer, Channel: c.unit, At: c.at}
	var sh [3]int
	if c.layer == "" {
		t.Channel = kernel.Strongest
		if c.class != "" {
			var err error
			if t.Channel, err = classIndex(classes, c.class); err != nil {
				return nil, nil, err
			}
		}
	} else {
		li, err := net.Unit(c.layer)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: -layer: %v", errUsage, err)
		}
		sh = net.Shapes[li]
		if c.unit >= sh[0] || c.unit < kernel.Strongest {
			return nil, nil, fmt.Errorf("%w: -unit %d: layer %s has channels 0 to %d", errUsage, c.unit, c.layer, sh[0]-1)
		}
		if c.at != nil && (c.at[0] < 0 || c.at[0] >= sh[1] || c.at[1] < 0 || c.at[1] >= sh[2]) {
			return nil, nil, fmt.Errorf("%w: -at %d,%d: layer %s is %d×%d", errUsage, c.at[0], c.at[1], c.layer, sh[1], sh[2])
		}
	}
	targets := make([]kernel.Target, x.Shape[0])
	for i := range targets {
		targets[i] = t
	}
	targets, err := net.Resolve(x, targets)
	if err != nil {
		return nil, nil, err
	}
	labels := make([]string, len(targets))
	for i, t := range targets {
		switch {
		case c.layer == "":
			labels[i] = "class " + classes[t.Channel]
		case sh[1]*sh[2] > 1:
			labels[i] = fmt.Sprintf("%s u%d (%d,%d)", c.layer, t.Channel, t.At[0], t.At[1])
		default:
			labels[i] = fmt.Sprintf("%s u%d", c.layer, t.Channel)
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
