package kernel

import (
	"encoding/json"
	"os"
	"testing"
)

// golden is kernel/testdata/golden.json, written by tools/golden.py from
// PyTorch: a small net with every layer type, its logits, loss, every
// gradient, and the three saliency maps of each example's top class.
type golden struct {
	Spec      Spec                 `json:"spec"`
	Input     []float32            `json:"input"`
	Labels    []int                `json:"labels"`
	Params    map[string][]float32 `json:"params"`
	Logits    []float32            `json:"logits"`
	Loss      float64              `json:"loss"`
	Grads     map[string][]float32 `json:"grads"`
	Top       []int                `json:"top"`
	Gradient  []float32            `json:"gradient"`
	Deconvnet []float32            `json:"deconvnet"`
	Guided    []float32            `json:"guided"`

	// Beyond the paper (attribution.go), for each example's top class:
	// integrated gradients (zero baseline, 16 steps), Grad-CAM and guided
	// Grad-CAM at conv2's rectifier, occlusion with 3×3 patches, stride 3.
	IG16          []float32 `json:"ig16"`
	GradCAM       []float32 `json:"gradcam_conv2"`
	GuidedGradCAM []float32 `json:"guided_gradcam_conv2"`
	Occlusion     []float32 `json:"occlusion_3_3"`
}

// readGolden reads testdata/golden.json.
func readGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	requireNoError(t, err)
	var g golden
	requireNoError(t, json.Unmarshal(b, &g))
	return g
}

// TestGoldenPyTorch compares every tensor with PyTorch's, printing the
// largest difference of each.
func TestGoldenPyTorch(t *testing.T) {
	t.Parallel()
	g := readGolden(t)
	n, err := Build(g.Spec)
	requireNoError(t, err)
	for _, p := range n.Params() {
		v, ok := g.Params[p.Name]
		if !ok || len(v) != len(p.Data) {
			t.Fatalf("%s: golden has %d values, want %d", p.Name, len(v), len(p.Data))
		}
		copy(p.Data, v)
	}
	in := g.Spec.Input
	x := &Tensor{Shape: []int{len(g.Labels), in[0], in[1], in[2]}, Data: g.Input}
	// check compares relative to the golden tensor's largest magnitude: the
	// maps are small numbers (about 1e-2), the logits about 1.
	check := func(name string, want, got []float32, tol float64) {
		t.Helper()
		if len(want) != len(got) {
			t.Fatalf("%s: %d values, golden %d", name, len(got), len(want))
		}
		scale := maxDiff(want, make([]float32, len(want)))
		d := maxDiff(want, got)
		t.Logf("%-18s max |diff| %.2g (max |v| %.2g)", name, d, scale)
		if d > tol*scale {
			t.Errorf("%s: differs from PyTorch by %g, more than %g of its scale %g", name, d, tol, scale)
		}
	}
	y, err := n.Forward(x, false)
	requireNoError(t, err)
	check("logits", g.Logits, y.Data, 1e-5)
	dl := NewTensor(y.Shape...)
	loss, _ := SoftmaxCrossEntropy(y.Data, n.Classes(), g.Labels, dl.Data)
	if d := loss - g.Loss; d > 1e-5 || d < -1e-5 {
		t.Errorf("loss %v, PyTorch %v", loss, g.Loss)
	}
	n.ZeroGrad()
	dx, err := n.Backward(dl, Pass{Params: true, Input: true})
	requireNoError(t, err)
	check("input grad", g.Grads["input"], dx.Data, 1e-5)
	for _, p := range n.Params() {
		check(p.Name+" grad", g.Grads[p.Name], p.Grad, 1e-5)
	}
	targets := make([]Target, len(g.Top))
	for i, c := range g.Top {
		targets[i] = Target{Channel: c}
	}
	for _, c := range []struct {
		rule ReLURule
		want []float32
	}{{Gradient, g.Gradient}, {Deconvnet, g.Deconvnet}, {Guided, g.Guided}} {
		m, _, err := n.Saliency(x, targets, Rule{ReLU: c.rule, Pool: Switches})
		requireNoError(t, err)
		check(c.rule.String(), c.want, m.Data, 1e-5)
	}
	ig, _, err := n.IntegratedGradients(x, targets, Integration{Steps: 16})
	requireNoError(t, err)
	check("integrated grad", g.IG16, ig.Data, 1e-5)
	cam, _, err := n.GradCAM(x, targets, "conv2")
	requireNoError(t, err)
	check("Grad-CAM", g.GradCAM, cam.Data, 1e-5)
	gc, _, err := n.GuidedGradCAM(x, targets, "conv2")
	requireNoError(t, err)
	check("guided Grad-CAM", g.GuidedGradCAM, gc.Data, 1e-5)
	occ, _, err := n.Occlusion(x, targets, Occlusion{Window: 3, Stride: 3})
	requireNoError(t, err)
	check("occlusion", g.Occlusion, occ.Data, 1e-5)
}
