package allcnn

import (
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
	pool := kernel.Switches
	if m.Spread {
		pool = kernel.NoSwitches
	}
	ruleOf := func(s string) kernel.ReLURule {
		r, _ := kernel.ParseReLURule(s) // checked; "" is gradient
		return r
	}
	switch m.Name {
	case "", "gradient", "deconvnet", "guided":
		name := m.Name
		if name == "" {
			name = "gradient"
		}
		return n.Saliency(x, targets, kernel.Rule{ReLU: ruleOf(name), Pool: pool})
	case "smoothgrad", "smoothgrad2", "vargrad":
		o := m.Noise
		o.Stat = map[string]kernel.NoiseStat{"smoothgrad": kernel.SmoothMean, "smoothgrad2": kernel.SmoothSquare, "vargrad": kernel.SmoothVar}[m.Name]
		return n.SmoothGrad(x, targets, kernel.Rule{ReLU: ruleOf(m.Rule), Pool: pool}, o)
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
