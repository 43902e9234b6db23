package kernel

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestPNormGolden pins Eq. 1 and its derivative on the 2×2 window
// [3 −4; 0 0], by hand: p = 1 sums |f| (7), p = 2 is the Euclidean norm (5),
// p = 3 is ∛91, and large p gives max |f| = 4 (for p = 64 the other term
// adds (3/4)^64/64 ≈ 1.6e-10 relative, below float32's resolution). The
// derivative sign(f)·(|f|/s)^(p−1) is sign(f) for p = 1 and f/s for p = 2.
func TestPNormGolden(t *testing.T) {
	x := grid([][]float32{{3, -4}, {0, 0}})
	dy := grid([][]float32{{2}})
	for _, c := range []struct {
		p    float32
		want float32
		dx   [][]float32
	}{
		{1, 7, [][]float32{{2, -2}, {0, 0}}},
		{2, 5, [][]float32{{2 * 0.6, 2 * -0.8}, {0, 0}}},
		{3, float32(math.Cbrt(91)), [][]float32{{2 * 9 / float32(math.Pow(91, 2.0/3)), 2 * -16 / float32(math.Pow(91, 2.0/3))}, {0, 0}}},
		{64, 4, [][]float32{{0, -2}, {0, 0}}}, // (3/4)^63 ≈ 1.4e-8
		{1e6, 4, [][]float32{{0, -2}, {0, 0}}},
	} {
		l := NewPNorm("p", 2, 2, 0, false, c.p)
		requireGrid(t, [][]float32{{c.want}}, l.Forward(x, false), fmt.Sprintf("p = %v: forward", c.p))
		requireGrid(t, c.dx, l.Backward(dy, Pass{Input: true}), fmt.Sprintf("p = %v: backward", c.p))
	}
	// A window of zeros gives 0 and passes nothing back; the padded
	// window of a 3×3 pool with padding 1 sees only the in-bounds inputs.
	l := NewPNorm("p", 3, 2, 1, false, 2)
	requireGrid(t, [][]float32{{5, 0}}, l.Forward(grid([][]float32{{3, 0, 0}, {4, 0, 0}}), false), "zeros: forward")
	requireGrid(t, [][]float32{{0.6, 0, 0}, {0.8, 0, 0}}, l.Backward(grid([][]float32{{1, 1}}), Pass{Input: true}), "zeros: backward")
}

// TestPNormRules: under Switches the signal follows the derivative whatever
// the rectifiers' rule; under NoSwitches it spreads evenly over the
// in-bounds inputs, as a max-pool's does.
func TestPNormRules(t *testing.T) {
	l := NewPNorm("p", 2, 2, 0, false, 2)
	x := grid([][]float32{{3, -4, 0, 1}, {0, 0, 0, 0}})
	y := l.Forward(x, false)
	requireGrid(t, [][]float32{{5, 1}}, y, "forward")
	dy := grid([][]float32{{1, -2}})
	for _, r := range []ReLURule{Gradient, Deconvnet, Guided} {
		requireGrid(t, [][]float32{{0.6, -0.8, 0, -2}, {0, 0, 0, 0}},
			l.Backward(dy, Pass{Input: true, Rule: Rule{ReLU: r, Pool: Switches}}), r.String()+", switches")
	}
	requireGrid(t, [][]float32{{.25, .25, -.5, -.5}, {.25, .25, -.5, -.5}},
		l.Backward(dy, Pass{Input: true, Rule: Rule{Pool: NoSwitches}}), "no switches")
}

// TestPNormP1IsSumPooling: p = 1 is K² times average pooling of |f|, here
// a convolution of |f| with weights 1/K² (zero padding included, as in
// the p-norm, where a padded position adds 0).
func TestPNormP1IsSumPooling(t *testing.T) {
	x := randTensor(newRNG(21), 1, 3, 1, 9, 8)
	abs := x.Clone()
	for i, v := range abs.Data {
		abs.Data[i] = max(v, -v)
	}
	for _, g := range []struct{ k, s, pad int }{{3, 2, 1}, {2, 2, 0}, {3, 1, 0}} {
		avg := NewConv2D("avg", 1, 1, g.k, g.s, g.pad)
		for i := range avg.Weight.Data {
			avg.Weight.Data[i] = 1 / float32(g.k*g.k)
		}
		want := avg.Forward(abs, false).Clone()
		for i := range want.Data {
			want.Data[i] *= float32(g.k * g.k)
		}
		got := NewPNorm("p", g.k, g.s, g.pad, false, 1).Forward(x, false)
		if !sameShape(got.Shape, want.Shape) {
			t.Fatalf("%+v: shape %v, want %v", g, got.Shape, want.Shape)
		}
		d := maxDiff(got.Data, want.Data)
		t.Logf("%+v: max |p-norm − K²·average| %.2g", g, d)
		if d > 1e-5 {
			t.Errorf("%+v: p = 1 differs from K² × average pooling by %g", g, d)
		}
	}
}

// TestPNormApproachesMaxPool: on a rectified (non-negative) input,
// max ≤ s ≤ n^(1/p)·max for the n ≤ K² inputs of a window, so the p-norm
// is max-pooling to within 9^(1/p) − 1: 3.5% at p = 64, 2.2e-6 at p = 1e6
// (plus float32 rounding, 1e-6 relative).
func TestPNormApproachesMaxPool(t *testing.T) {
	x := randTensor(newRNG(22), 1, 2, 3, 8, 8)
	for i, v := range x.Data {
		x.Data[i] = max(v, 0)
	}
	want := NewMaxPool("m", 3, 2, 1, false).Forward(x, false)
	for _, p := range []float32{8, 64, 1e6} {
		got := NewPNorm("p", 3, 2, 1, false, p).Forward(x, false)
		bound := math.Pow(9, 1/float64(p)) - 1
		var worst float64
		for i, m := range want.Data {
			s, m := float64(got.Data[i]), float64(m)
			if s < m*(1-1e-6) || s > m*(1+bound)*(1+1e-6) {
				t.Errorf("p = %v, output %d: %v outside [max, 9^(1/p)·max] = [%v, %v]", p, i, s, m, m*(1+bound))
			}
			if m > 0 {
				worst = max(worst, s/m-1)
			}
		}
		t.Logf("p = %v: largest (s − max)/max %.3g, bound %.3g", p, worst, bound)
	}
}

// TestPNormScaleInvariance: scaling the input by 2^±100 scales the output
// by the same and leaves the derivative alone (s is homogeneous of degree
// 1). Without the per-window scaling, |f|^p overflows or underflows even
// float64 at p = 64 (2^6400) and the outputs become Inf or 0.
func TestPNormScaleInvariance(t *testing.T) {
	x := randTensor(newRNG(23), 1, 2, 2, 7, 7)
	dy := randTensor(newRNG(24), 1, 2, 2, 4, 4)
	for _, p := range []float32{2, 16, 64, 1000} {
		l := NewPNorm("p", 3, 2, 1, false, p)
		y := l.Forward(x, false).Clone()
		dx := l.Backward(dy, Pass{Input: true}).Clone()
		for _, e := range []int{100, -100} {
			c := float32(math.Ldexp(1, e))
			xs := x.Clone()
			for i := range xs.Data {
				xs.Data[i] *= c
			}
			ys := l.Forward(xs, false)
			for i, v := range y.Data {
				if want := float64(v) * float64(c); math.Abs(float64(ys.Data[i])-want) > 1e-6*math.Abs(want) {
					t.Fatalf("p = %v, scale 2^%d, output %d: %v, want %v", p, e, i, ys.Data[i], want)
				}
			}
			if d := maxDiff(l.Backward(dy, Pass{Input: true}).Data, dx.Data); d > 1e-6 {
				t.Errorf("p = %v, scale 2^%d: the derivative moved by %g", p, e, d)
			}
		}
	}
}

// TestPNormNonFinite: NaN in a window gives NaN, ±Inf gives +Inf, as for a
// norm; other windows are unaffected.
func TestPNormNonFinite(t *testing.T) {
	l := NewPNorm("p", 2, 2, 0, false, 3)
	y := l.Forward(grid([][]float32{{float32(math.NaN()), 1, float32(math.Inf(-1)), 1, 3, 0}, {1, 1, 1, 1, 4, 0}}), false)
	if !math.IsNaN(float64(y.Data[0])) || !math.IsInf(float64(y.Data[1]), 1) || math.Abs(float64(y.Data[2])-math.Cbrt(91)) > 1e-6 {
		t.Fatalf("got %v, want [NaN +Inf ∛91]", y.Data)
	}
}

func TestPNormSpecErrors(t *testing.T) {
	in := [3]int{1, 6, 6}
	pn := func(p float32) Spec {
		return Spec{Input: in, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 2, Stride: 2, P: p}}}
	}
	for _, c := range []struct {
		name string
		s    Spec
	}{
		{"p missing", pn(0)},
		{"p < 1", pn(0.5)},
		{"p negative", pn(-2)},
		{"p NaN", pn(float32(math.NaN()))},
		{"p +Inf", pn(float32(math.Inf(1)))},
		{"p −Inf", pn(float32(math.Inf(-1)))},
		{"no kernel", Spec{Input: in, Layers: []LayerSpec{{Type: TypePNorm, P: 2}}}},
		{"pad ≥ kernel", Spec{Input: in, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 2, Pad: 2, P: 2}}}},
		{"kernel too big", Spec{Input: in, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 7, P: 2}}}},
	} {
		_, err := c.s.Shapes()
		if !errors.Is(err, ErrSpec) {
			t.Errorf("%s: want ErrSpec, got %v", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if _, err := Build(c.s); err == nil {
			t.Errorf("%s: Build accepted it", c.name)
		}
	}
	for _, p := range []float32{1, 2.5, 1e6, math.MaxFloat32} {
		s := pn(p)
		if _, err := s.Shapes(); err != nil {
			t.Errorf("p = %v: %v", p, err)
		}
	}
	// Ceil rounds up, as for a max-pool: 6 → 3 with 3×3, stride 2.
	s := Spec{Input: in, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 3, Stride: 2, Ceil: true, P: 2}}}
	sh, err := s.Shapes()
	requireNoError(t, err)
	requireEqual(t, [3]int{1, 3, 3}, sh[0], "ceil shape")
}

// pnormSpec is a small net with p-norm subsampling in place of max-pooling,
// written as a user would write it (the doc comment's form).
const pnormSpec = `{"name": "pnorm", "input": [3, 9, 9], "layers": [
	{"type": "conv", "name": "conv1", "out": 6, "kernel": 3, "pad": 1}, {"type": "relu"},
	{"type": "pnorm", "name": "pool1", "kernel": 3, "stride": 2, "pad": 1, "p": 2},
	{"type": "conv", "name": "conv2", "out": 8, "kernel": 3, "pad": 1}, {"type": "relu"},
	{"type": "pnorm", "name": "pool2", "kernel": 2, "stride": 2, "p": 3.5},
	{"type": "conv", "name": "conv3", "out": 5, "kernel": 1}, {"type": "relu"},
	{"type": "gap", "name": "gap"}]}`

// pnormNet builds pnormSpec, with edit applied to its pnorm layers if not
// nil, at seeded random weights.
func pnormNet(t *testing.T, edit func(*LayerSpec)) *Net {
	t.Helper()
	s, err := ParseSpec(strings.NewReader(pnormSpec))
	requireNoError(t, err)
	for i := range s.Layers {
		if s.Layers[i].Type == TypePNorm && edit != nil {
			edit(&s.Layers[i])
		}
	}
	n, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, n.Init("he", 1))
	return n
}

// TestPNormNet: a JSON architecture with pnorm layers builds with the
// shapes a max-pool would give, keeps the layer as data, and reports the
// receptive field of a pool.
func TestPNormNet(t *testing.T) {
	n := pnormNet(t, nil)
	requireEqual(t, [3]int{6, 5, 5}, n.Shapes[2], "pool1 shape")
	requireEqual(t, [3]int{8, 2, 2}, n.Shapes[5], "pool2 shape")
	l, ok := n.Layers[5].(*PNorm)
	if !ok {
		t.Fatalf("layer 5 is %T", n.Layers[5])
	}
	requireEqual(t, LayerSpec{Type: TypePNorm, Name: "pool2", Kernel: 2, Stride: 2, P: 3.5}, l.Spec(), "spec")
	// pool1 unit (0, 0): the padded 3×3 window at −1..1 of conv1, whose
	// 3×3 "same" filters see −2..2, clipped to 0..2.
	y0, y1, x0, x1 := n.ReceptiveField(2, 0, 0)
	requireEqual(t, [4]int{0, 3, 0, 3}, [4]int{y0, y1, x0, x1}, "receptive field")
}

// TestPNormTrains: a net with p-norm subsampling learns a fixed batch by
// plain gradient descent through Net.Backward.
func TestPNormTrains(t *testing.T) {
	n := pnormNet(t, nil)
	x := randTensor(newRNG(25), 1, 4, 3, 9, 9)
	labels := []int{0, 3, 1, 4}
	d := NewTensor(4, 5, 1, 1)
	var first, loss float64
	for step := range 60 {
		y, err := n.Forward(x, true)
		requireNoError(t, err)
		loss, _ = SoftmaxCrossEntropy(y.Data, 5, labels, d.Data)
		if step == 0 {
			first = loss
		}
		n.ZeroGrad()
		_, err = n.Backward(d, Pass{Params: true})
		requireNoError(t, err)
		for _, p := range n.Params() {
			for i, g := range p.Grad {
				p.Data[i] -= 0.1 * g
			}
		}
	}
	t.Logf("loss %.4f → %.4f in 60 steps", first, loss)
	if !(loss < first/2) {
		t.Fatalf("loss %.4f → %.4f: not learning", first, loss)
	}
}

// TestPNormSaliency: Net.Saliency and Net.Pattern work through p-norm
// layers: every map is finite and nonzero; the deconvnet map depends on the
// image, through the derivative, as it would through a max-pool's switches;
// and at large p a guided map is the guided map of the same net with
// max-pools, whose switches the derivative tends to.
func TestPNormSaliency(t *testing.T) {
	n := pnormNet(t, nil)
	x := randTensor(newRNG(26), 1, 2, 3, 9, 9)
	one := func(x *Tensor, i int) *Tensor { return &Tensor{Shape: []int{1, 3, 9, 9}, Data: x.Example(i)} }
	for _, r := range []ReLURule{Gradient, Deconvnet, Guided} {
		s, _, err := n.Saliency(x, []Target{{Channel: 2}, {Channel: 2}}, Rule{ReLU: r})
		requireNoError(t, err)
		finiteNonzero(t, s.Data, r.String())
		if r == Deconvnet && maxDiff(s.Example(0), s.Example(1)) == 0 {
			t.Error("deconvnet: two images give the same map")
		}
	}
	x = one(x, 0)
	p, err := n.Pattern("conv2", 3)
	requireNoError(t, err)
	finiteNonzero(t, p.Data, "pattern")

	// The same weights with p = 1e6 and with max-pools.
	large := pnormNet(t, func(l *LayerSpec) { l.P = 1e6 })
	maxed := pnormNet(t, func(l *LayerSpec) { l.Type, l.P = TypeMaxPool, 0 })
	a, _, err := large.Saliency(x, []Target{{Channel: Strongest}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	b, _, err := maxed.Saliency(x, []Target{{Channel: Strongest}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	var diff, norm float64
	for i := range a.Data {
		diff += math.Pow(float64(a.Data[i]-b.Data[i]), 2)
		norm += math.Pow(float64(b.Data[i]), 2)
	}
	rel := math.Sqrt(diff / norm)
	t.Logf("p = 1e6 against max-pooling: guided maps differ by %.2g (relative L2)", rel)
	if !(rel < 1e-3) {
		t.Errorf("p = 1e6: guided map differs from max-pooling's by %.2g (relative L2)", rel)
	}
}

func finiteNonzero(t *testing.T, v []float32, what string) {
	t.Helper()
	var scale float64
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			t.Fatalf("%s: non-finite value %v", what, f)
		}
		scale = max(scale, math.Abs(float64(f)))
	}
	if scale == 0 {
		t.Fatalf("%s: the map is zero", what)
	}
}

func ExampleNewPNorm() {
	x := &Tensor{Shape: []int{1, 1, 2, 2}, Data: []float32{3, -4, 0, 0}}
	for _, p := range []float32{1, 2, 64} {
		l := NewPNorm("pool", 2, 2, 0, false, p)
		fmt.Printf("p = %v: %v\n", p, l.Forward(x, false).Data[0])
	}
	// Output:
	// p = 1: 7
	// p = 2: 5
	// p = 64: 4
}
