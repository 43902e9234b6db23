package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// captumNet is captum's BasicModel_ConvNet_One_Conv: Conv2d(1→2, 3×3), all
// weights 1, biases −50 and −75 → ReLU → flatten → Linear(8→4), every row
// [1, 1, 1, 1, 1, −1, −1, −1], bias 0 → ReLU. The linear layer is a 2×2
// convolution over the 2×2 map (RATIONALE.md, "Why is the fixture's linear
// layer a convolution?"), its weights in flatten order.
func captumNet(t *testing.T) *Net {
	t.Helper()
	n, err := Build(Spec{Name: "captum-one-conv", Input: [3]int{1, 4, 4}, Layers: []LayerSpec{
		{Type: TypeConv, Name: "conv1", Out: 2, Kernel: 3},
		{Type: TypeReLU, Name: "relu1"},
		{Type: TypeConv, Name: "fc1", Out: 4, Kernel: 2},
		{Type: TypeReLU, Name: "relu2"},
	}})
	requireNoError(t, err)
	p := n.Param("conv1.weight").Data
	for i := range p {
		p[i] = 1
	}
	copy(n.Param("conv1.bias").Data, []float32{-50, -75})
	row := []float32{1, 1, 1, 1, 1, -1, -1, -1}
	fc := n.Param("fc1.weight").Data
	for o := range 4 {
		copy(fc[o*8:], row)
	}
	return n
}

func arange16() *Tensor {
	x := NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	return x
}

// TestGradCAMCaptumFixture: Grad-CAM at the rectifier after the
// convolution, and guided Grad-CAM with nearest upsampling, give captum's
// values for its fixture (target 0).
func TestGradCAMCaptumFixture(t *testing.T) {
	n := captumNet(t)
	x := arange16()
	cam, used, err := n.GradCAM(x, []Target{{Channel: 0}}, "conv1")
	requireNoError(t, err)
	requireEqual(t, 0, used[0].Channel, "target")
	requireGrid(t, [][]float32{{0, 4}, {28, 32.5}}, cam, "Grad-CAM at relu1")
	g, _, err := n.GuidedGradCAM(x, []Target{{Channel: 0}}, "conv1")
	requireNoError(t, err)
	requireGrid(t, [][]float32{{0, 0, 4, 4}, {0, 0, 12, 8}, {28, 84, 97.5, 65}, {28, 56, 65, 32.5}}, g, "guided Grad-CAM")

	// The target must lie above the layer.
	if _, _, err := n.GradCAM(x, []Target{{Layer: "conv1", Channel: 0}}, "conv1"); err == nil {
		t.Error("Grad-CAM of a unit of its own layer: no error")
	}
}

// goldenNet is the net of testdata/golden.json (every layer type, PyTorch's
// weights) with its inputs.
func goldenNet(t *testing.T) (*Net, *Tensor, golden) {
	t.Helper()
	g := readGolden(t)
	n, err := Build(g.Spec)
	requireNoError(t, err)
	for _, p := range n.Params() {
		copy(p.Data, g.Params[p.Name])
	}
	in := g.Spec.Input
	return n, &Tensor{Shape: []int{len(g.Labels), in[0], in[1], in[2]}, Data: g.Input}, g
}

// relDiff is max |a − b| over max |b|.
func relDiff(a, b []float32) float64 {
	return maxDiff(a, b) / math.Max(maxDiff(b, make([]float32, len(b))), 1e-30)
}

// TestSmoothGrad: with the noise level → 0 SmoothGrad is the plain map;
// splitting the samples into batches changes nothing; the map is the mean
// of Saliency over the same noisy copies; SmoothGrad² is the mean square
// and VarGrad the variance of the same maps.
func TestSmoothGrad(t *testing.T) {
	t.Parallel()
	n, x, _ := goldenNet(t)
	targets := []Target{{Channel: Strongest}, {Channel: Strongest}, {Channel: 2}}
	for _, rule := range []Rule{{ReLU: Gradient}, {ReLU: Guided}} {
		plain, want, err := n.Saliency(x, targets, rule)
		requireNoError(t, err)
		tiny, used, err := n.SmoothGrad(x, targets, rule, Noise{Samples: 3, Level: 1e-9})
		requireNoError(t, err)
		for i := range used {
			requireEqual(t, want[i].Channel, used[i].Channel, "resolved target")
		}
		if d := relDiff(tiny.Data, plain.Data); d > 1e-5 {
			t.Errorf("%v: SmoothGrad with σ → 0 differs from the map by %.3g", rule.ReLU, d)
		}
	}

	o := Noise{Samples: 7, Level: 0.2, Seed: 9}
	rule := Rule{ReLU: Gradient}
	whole, used, err := n.SmoothGrad(x, targets, rule, Noise{Samples: 7, Level: 0.2, Seed: 9, Batch: 7})
	requireNoError(t, err)
	for _, b := range []int{1, 3} {
		o.Batch = b
		chunked, _, err := n.SmoothGrad(x, targets, rule, o)
		requireNoError(t, err)
		if d := relDiff(chunked.Data, whole.Data); d > 1e-5 {
			t.Errorf("batches of %d differ from one batch by %.3g", b, d)
		}
	}

	// By hand: example i's copies draw from PCG(seed, i) in order.
	size := len(x.Example(0))
	mean, sq := make([]float64, len(x.Data)), make([]float64, len(x.Data))
	for i := range x.N() {
		ex := x.Example(i)
		lo, hi := extent(ex)
		rng := rand.New(rand.NewPCG(9, uint64(i)))
		for range 7 {
			xn := NewTensor(1, x.C(), x.H(), x.W())
			for k, v := range ex {
				xn.Data[k] = v + float32(0.2*float64(hi-lo)*rng.NormFloat64())
			}
			m, _, err := n.Saliency(xn, []Target{used[i]}, rule)
			requireNoError(t, err)
			for k, v := range m.Data {
				mean[i*size+k] += float64(v) / 7
				sq[i*size+k] += float64(v) * float64(v) / 7
			}
		}
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, f := range v {
			out[i] = float32(f)
		}
		return out
	}
	if d := relDiff(whole.Data, f32(mean)); d > 1e-5 {
		t.Errorf("SmoothGrad differs from the mean of the noisy maps by %.3g", d)
	}
	o.Batch, o.Stat = 0, SmoothSquare
	square, _, err := n.SmoothGrad(x, targets, rule, o)
	requireNoError(t, err)
	if d := relDiff(square.Data, f32(sq)); d > 1e-5 {
		t.Errorf("SmoothGrad² differs from the mean square by %.3g", d)
	}
	o.Stat = SmoothVar
	v, _, err := n.SmoothGrad(x, targets, rule, o)
	requireNoError(t, err)
	variance := make([]float64, len(mean))
	for k := range variance {
		variance[k] = max(sq[k]-mean[k]*mean[k], 0)
	}
	if d := relDiff(v.Data, f32(variance)); d > 1e-4 {
		t.Errorf("VarGrad differs from the variance by %.3g", d)
	}
}

// TestIntegratedGradientsCompleteness: the attributions of each example sum
// to f(x) − f(baseline) within 1% of |f(x) − f(baseline)| for every
// baseline, and batching the path changes nothing.
func TestIntegratedGradientsCompleteness(t *testing.T) {
	t.Parallel()
	n, x, g := goldenNet(t)
	targets := make([]Target, len(g.Top))
	for i, c := range g.Top {
		targets[i] = Target{Channel: c}
	}
	logit := func(in *Tensor) []float32 {
		y, err := n.Forward(in, false)
		requireNoError(t, err)
		out := make([]float32, in.N())
		for i := range out {
			out[i] = y.Example(i)[g.Top[i]]
		}
		return out
	}
	fx := logit(x)
	for _, b := range []Baseline{BaselineZero, BaselineBlur, BaselineMean} {
		ig, _, err := n.IntegratedGradients(x, targets, Integration{Steps: 64, Baseline: b})
		requireNoError(t, err)
		fb := logit(BaselineOf(x, b))
		for i := range x.N() {
			var s float64
			for _, v := range ig.Example(i) {
				s += float64(v)
			}
			want := float64(fx[i] - fb[i])
			t.Logf("%s baseline, example %d: Σ attributions %.5f, f(x) − f(x′) %.5f", b, i, s, want)
			if math.Abs(s-want) > 0.01*math.Abs(want) {
				t.Errorf("%s baseline, example %d: attributions sum to %.5f, f(x) − f(x′) = %.5f", b, i, s, want)
			}
		}
		one, _, err := n.IntegratedGradients(x, targets, Integration{Steps: 64, Baseline: b, Batch: 64})
		requireNoError(t, err)
		if d := relDiff(one.Data, ig.Data); d > 1e-5 {
			t.Errorf("%s baseline: one batch differs from batches of 16 by %.3g", b, d)
		}
	}
}

// TestOcclusion: with a 1×1 window and stride 1, each pixel's value is
// f(x) − f(x with that pixel zero in every channel), checked by forward
// passes; every channel gets the same value; a wider window averages the
// patches that cover a pixel.
func TestOcclusion(t *testing.T) {
	n, x, g := goldenNet(t)
	targets := []Target{{Channel: g.Top[0]}}
	x1 := &Tensor{Shape: []int{1, x.C(), x.H(), x.W()}, Data: x.Example(0)}
	occ, _, err := n.Occlusion(x1, targets, Occlusion{Window: 1, Stride: 1, Batch: 7})
	requireNoError(t, err)
	y, err := n.Forward(x1, false)
	requireNoError(t, err)
	f := y.Data[g.Top[0]]
	hw := x.H() * x.W()
	for _, p := range []int{0, 13, 77, hw - 1} {
		xo := x1.Clone()
		for c := range x.C() {
			xo.Data[c*hw+p] = 0
		}
		yo, err := n.Forward(xo, false)
		requireNoError(t, err)
		want := f - yo.Data[g.Top[0]]
		for c := range x.C() {
			if got := occ.Data[c*hw+p]; math.Abs(float64(got-want)) > 1e-5 {
				t.Errorf("pixel %d channel %d: %v, want f(x) − f(occluded) = %v", p, c, got, want)
			}
		}
	}
	// Window 2, stride 2: the patches tile the image, so each pixel has its
	// own patch's drop.
	occ2, _, err := n.Occlusion(x1, targets, Occlusion{Window: 2, Stride: 2})
	requireNoError(t, err)
	xo := x1.Clone()
	for c := range x.C() {
		for _, k := range []int{2*x.W() + 4, 2*x.W() + 5, 3*x.W() + 4, 3*x.W() + 5} {
			xo.Data[c*hw+k] = 0
		}
	}
	yo, err := n.Forward(xo, false)
	requireNoError(t, err)
	if got, want := occ2.Data[3*x.W()+5], f-yo.Data[g.Top[0]]; math.Abs(float64(got-want)) > 1e-5 {
		t.Errorf("window 2: pixel (3,5) %v, want its patch's drop %v", got, want)
	}
	if _, _, err := n.Occlusion(x1, targets, Occlusion{Window: 99}); err == nil {
		t.Error("a window larger than the input: no error")
	}
}

// TestUpsampleNearest follows PyTorch's nearest rule, ⌊y·h/h2⌋, for
// integer and non-integer factors.
func TestUpsampleNearest(t *testing.T) {
	m := grid([][]float32{{1, 2}, {3, 4}})
	requireGrid(t, [][]float32{{1, 1, 2, 2}, {1, 1, 2, 2}, {3, 3, 4, 4}, {3, 3, 4, 4}}, UpsampleNearest(m, 4, 4), "2 → 4")
	requireGrid(t, [][]float32{{1, 1, 2}, {1, 1, 2}, {3, 3, 4}}, UpsampleNearest(m, 3, 3), "2 → 3")
}
