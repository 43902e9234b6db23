package allcnn

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/allcnn/allcnn/kernel"
)

// Methods lists the explanation methods by name, the paper's three first:
//
//	gradient        backpropagation to the input (paper Fig. 1)
//	deconvnet       Zeiler and Fergus's rule at every rectifier
//	guided          guided backpropagation
//	smoothgrad      the mean map of noisy copies (Smilkov et al. 2017)
//	smoothgrad2     the mean squared map of noisy copies
//	vargrad         the variance of the maps of noisy copies
//	integrated      integrated gradients (Sundararajan et al. 2017)
//	gradcam         Grad-CAM at a layer, upsampled (Selvaraju et al. 2017)
//	guided-gradcam  guided backpropagation times Grad-CAM
//	occlusion       the target's drop when patches are hidden (Zeiler and Fergus 2014)
var Methods = []string{"gradient", "deconvnet", "guided", "smoothgrad", "smoothgrad2", "vargrad", "integrated", "gradcam", "guided-gradcam", "occlusion"}

// Method is an explanation method with its settings: what Explain runs.
// The zero value is the gradient.
type Method struct {
	// Name is one of Methods ("" is gradient).
	Name string
	// Rule is the rule at every rectifier that the SmoothGrad family
	// averages: gradient (""), deconvnet or guided.
	Rule string
	// Spread sends each max-pool's signal back evenly over its window
	// instead of through its switches (the paper's methods and SmoothGrad).
	Spread bool
	// Noise configures smoothgrad, smoothgrad2 and vargrad (Stat is set
	// from Name).
	Noise kernel.Noise
	// Integration configures integrated.
	Integration kernel.Integration
	// Layer is the layer of gradcam and guided-gradcam; "" picks the
	// highest convolution below the class layer whose map is larger than
	// 1×1 (DefaultCAMLayer).
	Layer string
	// Occlusion configures occlusion.
	Occlusion kernel.Occlusion
}

// check reports an unknown name or rule.
func (m Method) check() error {
	known := m.Name == ""
	for _, n := range Methods {
		known = known || n == m.Name
	}
	if !known {
		return fmt.Errorf("unknown method %q (want %s)", m.Name, strings.Join(Methods, ", "))
	}
	if m.Rule != "" {
		if _, err := kernel.ParseReLURule(m.Rule); err != nil {
			return err
		}
	}
	return nil
}

// Explain computes method m's map of each example of x for its target on
// net n: the input-shaped map (Grad-CAM's, upsampled and the same for every
// channel) and the targets explained, resolved on x itself (kernel.Net.Resolve).
func Explain(n *kernel.Net, x *kernel.Tensor, targets []kernel.Target, m Method) (*kernel.Tensor, []kernel.Target, error) {
	if err := m.check(); err != nil {
		return nil, nil, fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
	}
	switch m.Name {
	case "", "gradient", "deconvnet", "guided":
		name := m.Name
		if name == "" {
			name = "gradient"
		}
		return n.Saliency(x, targets, kernel.Rule{ReLU: ruleOf(name), Pool: m.pool()})
	case "smoothgrad", "smoothgrad2", "vargrad":
		return n.SmoothGrad(x, targets, m.rule(), m.noise())
	case "integrated":
		return n.IntegratedGradients(x, targets, m.Integration)
	case "gradcam":
		layer, err := camLayer(n, m.Layer)
		if err != nil {
			return nil, nil, err
		}
		cam, used, err := n.GradCAM(x, targets, layer)
		if err != nil {
			return nil, nil, err
		}
		up := kernel.UpsampleNearest(cam, x.H(), x.W())
		out := kernel.NewTensor(x.Shape...)
		hw := x.H() * x.W()
		for i := range x.N() {
			for c := range x.C() {
				copy(out.Example(i)[c*hw:(c+1)*hw], up.Example(i))
			}
		}
		return out, used, nil
	case "guided-gradcam":
		layer, err := camLayer(n, m.Layer)
		if err != nil {
			return nil, nil, err
		}
		return n.GuidedGradCAM(x, targets, layer)
	default: // occlusion
		return n.Occlusion(x, targets, m.Occlusion)
	}
}

// Copies is how many copies of the image method m's map averages: the
// noisy copies of smoothgrad, smoothgrad2 and vargrad, the points of the
// path of integrated; 0 for the other methods, whose maps are not such
// averages. ExplainCopies computes the maps of a range of copies, so that
// several workers (each with its own net) can share one map.
func (m Method) Copies() int {
	switch m.Name {
	case "smoothgrad", "smoothgrad2", "vargrad":
		return cmp.Or(max(m.Noise.Samples, 0), 16) // kernel.Noise's default
	case "integrated":
		return cmp.Or(max(m.Integration.Steps, 0), 32) // kernel.Integration's
	}
	return 0
}

// ExplainCopies computes the maps of copies first, …, first+count−1 (of
// m.Copies()) that Explain averages into method m's map: copy s of example
// i is example (s−first)·N+i of the result, N being x's examples. A copy's
// map is the same whichever range computes it (to float rounding: its last
// bits depend on the batch it runs in), so the results of consecutive
// ranges from copy 0, concatenated, are every copy's map, and ReduceCopies
// of them is Explain's map.
func ExplainCopies(n *kernel.Net, x *kernel.Tensor, targets []kernel.Target, m Method, first, count int) (*kernel.Tensor, []kernel.Target, error) {
	if err := m.checkCopies(); err != nil {
		return nil, nil, err
	}
	if m.Name == "integrated" {
		return n.IntegratedGradientsMaps(x, targets, m.Integration, first, count)
	}
	return n.SmoothGradMaps(x, targets, m.rule(), m.noise(), first, count)
}

// ReduceCopies returns Explain's map of method m for x from the maps of
// all m.Copies() copies, laid out as ExplainCopies lays out copies 0 to
// m.Copies()−1.
func ReduceCopies(x, maps *kernel.Tensor, m Method) (*kernel.Tensor, error) {
	if err := m.checkCopies(); err != nil {
		return nil, err
	}
	if m.Name == "integrated" {
		return kernel.ReduceIntegratedGradients(x, maps, m.Integration)
	}
	if len(x.Shape) != 4 || len(maps.Shape) != 4 || maps.N() != m.Copies()*x.N() || len(maps.Example(0)) != len(x.Example(0)) {
		return nil, fmt.Errorf("allcnn: %v maps for %d copies of each example of %v: %w", maps.Shape, m.Copies(), x.Shape, kernel.ErrShape)
	}
	return kernel.ReduceSmoothGrad(maps, m.noise())
}

// checkCopies reports a method that is unknown or averages no copies.
func (m Method) checkCopies() error {
	if err := m.check(); err != nil {
		return fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
	}
	if m.Copies() == 0 {
		return fmt.Errorf("allcnn: %w: method %q averages no copies of the image (smoothgrad, smoothgrad2, vargrad and integrated do)", ErrRequest, m.Name)
	}
	return nil
}

// pool is the rule at max-pools: their switches, or spread evenly.
func (m Method) pool() kernel.PoolRule {
	if m.Spread {
		return kernel.NoSwitches
	}
	return kernel.Switches
}

// rule is the rule the SmoothGrad family walks each copy back by.
func (m Method) rule() kernel.Rule { return kernel.Rule{ReLU: ruleOf(m.Rule), Pool: m.pool()} }

// noise is the SmoothGrad family's settings, with Stat set from the name.
func (m Method) noise() kernel.Noise {
	o := m.Noise
	o.Stat = map[string]kernel.NoiseStat{"smoothgrad": kernel.SmoothMean, "smoothgrad2": kernel.SmoothSquare, "vargrad": kernel.SmoothVar}[m.Name]
	return o
}

// ruleOf is the rule at every rectifier named s, checked by Method.check;
// "" is gradient.
func ruleOf(s string) kernel.ReLURule {
	r, _ := kernel.ParseReLURule(s)
	return r
}

// camLayer is layer, or DefaultCAMLayer's choice for "".
func camLayer(n *kernel.Net, layer string) (string, error) {
	if layer != "" {
		return layer, nil
	}
	if l := DefaultCAMLayer(n); l != "" {
		return l, nil
	}
	return "", fmt.Errorf("allcnn: %s has no convolution with a map larger than 1×1 for Grad-CAM: %w", n.Spec.Name, ErrRequest)
}

// DefaultCAMLayer is the layer Grad-CAM uses unless told: the highest
// convolution below the class layer (the last convolution) whose map is
// larger than 1×1 (All-CNN-C's conv8, 192 channels on 6×6), where the units
// see most of the image and the map still has a place; "" if there is none.
func DefaultCAMLayer(n *kernel.Net) string {
	last := true
	for i := len(n.Layers) - 1; i >= 0; i-- {
		l := n.Spec.Layers[i]
		if l.Type != kernel.TypeConv {
			continue
		}
		if sh := n.Shapes[i]; !last && sh[1]*sh[2] > 1 {
			return l.Name
		}
		last = false
	}
	return ""
}
