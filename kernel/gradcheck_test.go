package kernel

import (
	"cmp"
	"fmt"
	"math"
	"testing"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// The finite-difference checks below compare each analytic gradient with
// central differences of L = Σ r·f(x) for a fixed random r. The forward
// pass is float32, so the step is large (1e-2) and the loss is summed in
// float64. Where f has kinks (rectifiers, max), a coordinate whose ±step
// changes the pattern of active units or pool winners is skipped and
// counted; the test fails if too many are skipped to mean anything.

// kinkState is what must not change between x−h and x+h for the
// derivative to exist: the sign of every rectifier input and every pool's
// winners, and the sign of every p-norm input.
func kinkState(n *Net) string {
	b := make([]byte, 0, 1024)
	for _, l := range n.Layers {
		switch l := l.(type) {
		case *ReLU:
			for _, v := range l.y.Data {
				if v > 0 {
					b = append(b, '1')
				} else {
					b = append(b, '0')
				}
			}
		case *MaxPool:
			b = fmt.Appendf(b, "%v", l.switches)
		case *PNorm: // |f| has a kink at 0 (p = 1)
			for _, v := range l.x.Data {
				b = append(b, "-0+"[cmp.Compare(v, 0)+1])
			}
		}
	}
	return string(b)
}

type gradCase struct {
	name   string
	spec   Spec
	batch  int
	train  bool    // with dropout active; its masks are replayed by reseeding
	inputs int     // how many input coordinates to probe (all if 0)
	step   float64 // finite-difference step, 1e-2 if 0
	tol    float64 // allowed |analytic − numeric| / max(1, |numeric|), 2e-3 if 0
}

func checkGradients(t *testing.T, c gradCase) {
	h := c.step
	if h == 0 {
		h = 1e-2
	}
	tol := c.tol
	if tol == 0 {
		tol = 2e-3
	}
	net, err := Build(c.spec)
	requireNoError(t, err)
	requireNoError(t, net.Init("he", 7))
	rng := newRNG(3)
	for _, p := range net.Params() {
		for i := range p.Data { // nonzero biases too
			if len(p.Shape) == 1 {
				p.Data[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	in := c.spec.Input
	x := randTensor(rng, 1, c.batch, in[0], in[1], in[2])
	sh := net.Shapes[len(net.Shapes)-1]
	r := randTensor(rng, 1, c.batch, sh[0], sh[1], sh[2])

	loss := func() (float64, string) {
		net.Seed(11)
		y, err := net.Forward(x, c.train)
		requireNoError(t, err)
		return dot(y.Data, r.Data), kinkState(net)
	}
	_, base := loss()
	net.ZeroGrad()
	dx, err := net.Backward(r, Pass{Params: true, Input: true})
	requireNoError(t, err)
	dx = dx.Clone()

	probe := func(what string, v []float32, i int, analytic float32) (skipped bool) {
		old := v[i]
		v[i] = old + float32(h)
		lp, kp := loss()
		v[i] = old - float32(h)
		lm, km := loss()
		v[i] = old
		if kp != base || km != base {
			return true
		}
		num := (lp - lm) / (2 * h)
		if diff := math.Abs(num - float64(analytic)); diff > tol*math.Max(1, math.Abs(num)) {
			t.Errorf("%s[%d]: analytic %.6f, finite difference %.6f (diff %.2g)", what, i, analytic, num, diff)
		}
		return false
	}
	checked, skipped := 0, 0
	count := func(s bool) {
		if s {
			skipped++
		} else {
			checked++
		}
	}
	step := 1
	if c.inputs > 0 {
		step = max(1, len(x.Data)/c.inputs)
	}
	for i := 0; i < len(x.Data); i += step {
		count(probe("input", x.Data, i, dx.Data[i]))
	}
	for _, p := range net.Params() {
		step := max(1, len(p.Data)/40)
		for i := 0; i < len(p.Data); i += step {
			count(probe(p.Name, p.Data, i, p.Grad[i]))
		}
	}
	t.Logf("%d coordinates checked, %d skipped at kinks", checked, skipped)
	if skipped > checked {
		t.Fatalf("too many kinks: %d skipped, %d checked", skipped, checked)
	}
}

func TestGradientsPerLayer(t *testing.T) {
	t.Parallel()
	conv := func(k, s, p int) []LayerSpec {
		return []LayerSpec{{Type: TypeConv, Name: "c", Out: 3, Kernel: k, Stride: s, Pad: p}}
	}
	cases := []gradCase{
		{name: "conv3x3", spec: Spec{Input: [3]int{2, 5, 5}, Layers: conv(3, 1, 1)}, batch: 2},
		{name: "conv3x3-stride2", spec: Spec{Input: [3]int{2, 6, 5}, Layers: conv(3, 2, 1)}, batch: 2},
		{name: "conv5x5-valid", spec: Spec{Input: [3]int{2, 7, 6}, Layers: conv(5, 1, 0)}, batch: 1},
		{name: "conv2x2-stride2-valid", spec: Spec{Input: [3]int{2, 5, 5}, Layers: conv(2, 2, 0)}, batch: 2},
		{name: "conv1x1", spec: Spec{Input: [3]int{4, 3, 3}, Layers: conv(1, 1, 0)}, batch: 2},
		{name: "conv11x11-stride4-pad2", spec: Spec{Input: [3]int{1, 15, 15}, Layers: conv(11, 4, 2)}, batch: 1},
		// Wide enough for Winograd (16 channels, 256 output pixels): F(4×4)
		// forward and weights; the input gradient of the valid one is
		// F(2×2) on its 10×10 map.
		{name: "conv3x3-winograd", spec: Spec{Input: [3]int{16, 8, 8}, Layers: conv(3, 1, 1)}, batch: 4, inputs: 300},
		{name: "conv3x3-valid-winograd", spec: Spec{Input: [3]int{16, 10, 10}, Layers: conv(3, 1, 0)}, batch: 4, inputs: 300},
		{name: "conv3x3-pad2-winograd", spec: Spec{Input: [3]int{16, 6, 6}, Layers: conv(3, 1, 2)}, batch: 4, inputs: 300},
		{name: "relu", spec: Spec{Input: [3]int{2, 4, 4}, Layers: []LayerSpec{{Type: TypeReLU}}}, batch: 2},
		{name: "leaky_relu", spec: Spec{Input: [3]int{2, 4, 4}, Layers: []LayerSpec{{Type: TypeLeakyReLU, Slope: 1.0 / 3}}}, batch: 2},
		{name: "dropout-train", spec: Spec{Input: [3]int{2, 4, 4}, Layers: []LayerSpec{{Type: TypeDropout, P: 0.5}}}, batch: 2, train: true},
		{name: "dropout-eval", spec: Spec{Input: [3]int{2, 4, 4}, Layers: []LayerSpec{{Type: TypeDropout, P: 0.5}}}, batch: 2},
		{name: "maxpool3s2p1", spec: Spec{Input: [3]int{2, 7, 8}, Layers: []LayerSpec{{Type: TypeMaxPool, Kernel: 3, Stride: 2, Pad: 1}}}, batch: 2},
		{name: "maxpool3s2-ceil", spec: Spec{Input: [3]int{1, 8, 8}, Layers: []LayerSpec{{Type: TypeMaxPool, Kernel: 3, Stride: 2, Ceil: true}}}, batch: 2},
		{name: "maxpool2s2", spec: Spec{Input: [3]int{2, 6, 6}, Layers: []LayerSpec{{Type: TypeMaxPool, Kernel: 2, Stride: 2}}}, batch: 1},
		// p-norm subsampling (Eq. 1): sums of |f|, L2, fractional and
		// large p, padded and rounded up.
		{name: "pnorm1-3s2p1", spec: Spec{Input: [3]int{2, 7, 8}, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 3, Stride: 2, Pad: 1, P: 1}}}, batch: 2},
		{name: "pnorm2-2s2", spec: Spec{Input: [3]int{2, 6, 6}, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 2, Stride: 2, P: 2}}}, batch: 2},
		{name: "pnorm3.5-3s2-ceil", spec: Spec{Input: [3]int{1, 8, 8}, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 3, Stride: 2, Ceil: true, P: 3.5}}}, batch: 2},
		{name: "pnorm8-3s1p1", spec: Spec{Input: [3]int{2, 5, 5}, Layers: []LayerSpec{{Type: TypePNorm, Kernel: 3, Pad: 1, P: 8}}}, batch: 1},
		{name: "gap", spec: Spec{Input: [3]int{3, 3, 4}, Layers: []LayerSpec{{Type: TypeGAP}}}, batch: 2},
		// Batch normalisation differentiated through the batch statistics
		// (training) and as the affine map of its running ones (evaluation).
		{name: "batchnorm-train", spec: Spec{Input: [3]int{3, 4, 5}, Layers: []LayerSpec{{Type: TypeBatchNorm, Name: "bn"}}}, batch: 3, train: true, step: 1e-3, tol: 3e-3},
		{name: "batchnorm-train-1x1", spec: Spec{Input: [3]int{4, 1, 1}, Layers: []LayerSpec{{Type: TypeBatchNorm, Name: "bn"}}}, batch: 5, train: true, step: 1e-3, tol: 3e-3},
		{name: "batchnorm-eval", spec: Spec{Input: [3]int{3, 4, 5}, Layers: []LayerSpec{{Type: TypeBatchNorm, Name: "bn"}}}, batch: 2},
		{name: "conv-batchnorm-relu-train", spec: Spec{Input: [3]int{2, 5, 5}, Layers: []LayerSpec{
			{Type: TypeConv, Name: "c", Out: 3, Kernel: 3, Pad: 1}, {Type: TypeBatchNorm, Name: "bn"}, {Type: TypeReLU}}}, batch: 2, train: true, step: 1e-3, tol: 3e-3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGradients(t, c) })
	}
}

func TestGradientsWholeNet(t *testing.T) {
	t.Parallel()
	small := Spec{Input: [3]int{3, 8, 8}, Layers: []LayerSpec{
		{Type: TypeDropout, P: 0.2},
		{Type: TypeConv, Name: "conv1", Out: 4, Kernel: 3, Pad: 1}, {Type: TypeReLU},
		{Type: TypeMaxPool, Name: "pool1", Kernel: 3, Stride: 2, Pad: 1},
		{Type: TypeDropout, P: 0.5},
		{Type: TypeConv, Name: "conv2", Out: 5, Kernel: 3, Stride: 2, Pad: 1}, {Type: TypeLeakyReLU, Slope: 0.2},
		{Type: TypeConv, Name: "conv3", Out: 3, Kernel: 1}, {Type: TypeReLU},
		{Type: TypeGAP, Name: "gap"},
	}}
	checkGradients(t, gradCase{name: "small", spec: small, batch: 2, train: true})
	pnorm := Spec{Input: [3]int{3, 8, 8}, Layers: []LayerSpec{
		{Type: TypeConv, Name: "conv1", Out: 4, Kernel: 3, Pad: 1}, {Type: TypeReLU},
		{Type: TypePNorm, Name: "pool1", Kernel: 3, Stride: 2, Pad: 1, P: 2},
		{Type: TypeConv, Name: "conv2", Out: 5, Kernel: 3, Pad: 1}, {Type: TypeLeakyReLU, Slope: 0.2},
		{Type: TypePNorm, Name: "pool2", Kernel: 2, Stride: 2, P: 4.5},
		{Type: TypeConv, Name: "conv3", Out: 3, Kernel: 1},
		{Type: TypeGAP, Name: "gap"},
	}}
	// The p = 4.5 pool curves sharply: at the usual step its central
	// differences are off by O(h²) (2% at 1e-2, a quarter of that at 5e-3).
	checkGradients(t, gradCase{name: "pnorm", spec: pnorm, batch: 2, step: 1e-3, tol: 3e-3})
	allc, err := ZooSpec("all-cnn-c", 4, 1.0/24) // 4 and 8 channels
	requireNoError(t, err)
	// Eight layers of float32 rounding: a smaller step to dodge kinks, so a
	// looser tolerance for the rounding noise it amplifies.
	checkGradients(t, gradCase{name: "all-cnn-c/24", spec: *allc, batch: 2, train: true, inputs: 200, step: 3e-3, tol: 5e-3})
}

// TestSoftmaxCrossEntropyGradient checks the loss gradient by differences.
func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	rng := newRNG(5)
	logits := randTensor(rng, 2, 3, 4).Data
	labels := []int{1, 3, 0}
	d := make([]float32, len(logits))
	loss, _ := SoftmaxCrossEntropy(logits, 4, labels, d)
	if loss <= 0 {
		t.Fatalf("loss %v", loss)
	}
	const h = 1e-2
	for i := range logits {
		old := logits[i]
		logits[i] = old + h
		lp, _ := SoftmaxCrossEntropy(logits, 4, labels, nil)
		logits[i] = old - h
		lm, _ := SoftmaxCrossEntropy(logits, 4, labels, nil)
		logits[i] = old
		if num := (lp - lm) / (2 * h); math.Abs(num-float64(d[i])) > 1e-3 {
			t.Errorf("logit %d: analytic %v, numeric %v", i, d[i], num)
		}
	}
	// Uniform logits give ln k.
	l, _ := SoftmaxCrossEntropy(make([]float32, 10), 10, []int{3}, nil)
	if math.Abs(l-math.Log(10)) > 1e-6 {
		t.Fatalf("uniform loss %v, want ln 10", l)
	}
}

// TestConvScheduling: however a batch is split into groups and spread over
// goroutines (one-example groups, several goroutines, goroutines within a
// group), a convolution computes what one goroutine with one group computes.
func TestConvScheduling(t *testing.T) {
	cases := []struct {
		in, out, k, s, pad, n, h int
	}{
		{3, 4, 3, 2, 1, 5, 7},  // groups of several examples (16-pixel maps)
		{3, 5, 1, 1, 0, 5, 6},  // direct 1×1, groups of several examples
		{6, 5, 1, 1, 0, 3, 17}, // direct 1×1, one-example groups
		{3, 4, 3, 1, 1, 3, 20}, // one-example groups, straight into the output
		{2, 3, 3, 1, 1, 1, 24}, // one example: bands of output rows
		{3, 4, 3, 2, 1, 1, 33}, // one example, stride 2: bands through phase planes
		{4, 3, 3, 1, 0, 1, 23}, // one example, unpadded: 21 rows in uneven bands
		{5, 6, 3, 2, 1, 1, 9},  // one example too small for bands (25 pixels)
	}
	for _, c := range cases {
		x := randTensor(newRNG(8), 1, c.n, c.in, c.h, c.h)
		run := func(threads, chunk int) (y, dx, dw, db []float32) {
			l := NewConv2D("c", c.in, c.out, c.k, c.s, c.pad)
			l.eng = engine.New(engine.Config{Threads: threads, ChunkFloats: chunk})
			r := newRNG(1)
			for i := range l.Weight.Data {
				l.Weight.Data[i] = float32(r.NormFloat64())
			}
			for i := range l.Bias.Data {
				l.Bias.Data[i] = float32(r.NormFloat64())
			}
			out := l.Forward(x, false)
			dy := randTensor(newRNG(2), 1, out.Shape...)
			// Twice, so that goroutines' partial sums are reused correctly.
			l.Backward(dy, Pass{Params: true, Input: true})
			d := l.Backward(dy, Pass{Params: true, Input: true})
			return out.Clone().Data, d.Clone().Data, l.Weight.Grad, l.Bias.Grad
		}
		y1, dx1, dw1, db1 := run(1, 4<<20)
		for _, threads := range []int{1, 2, 3, 4} {
			for _, chunk := range []int{1, 4 << 20} {
				y2, dx2, dw2, db2 := run(threads, chunk)
				for _, v := range []struct {
					name string
					a, b []float32
				}{{"forward", y1, y2}, {"input grad", dx1, dx2}, {"weight grad", dw1, dw2}, {"bias grad", db1, db2}} {
					if d := maxDiff(v.a, v.b); d > 1e-4 {
						t.Errorf("%+v, %d goroutines, chunk %d: %s differs by %g", c, threads, chunk, v.name, d)
					}
				}
			}
		}
	}
}

// TestSmoothedCrossEntropy checks the smoothed loss's gradient by
// differences and its value against the definition, and that eps 0 is the
// plain loss.
func TestSmoothedCrossEntropy(t *testing.T) {
	rng := newRNG(6)
	logits := randTensor(rng, 2, 3, 5).Data
	labels := []int{4, 0, 2}
	const eps = 0.1
	d := make([]float32, len(logits))
	loss, _ := SmoothedCrossEntropy(logits, 5, labels, eps, d)
	// Definition: (1 − eps)·CE + eps·mean over classes of −log p.
	var want float64
	probs := make([]float32, len(logits))
	Softmax(logits, 5, probs)
	for r, lab := range labels {
		var all float64
		for j := range 5 {
			all -= math.Log(float64(probs[r*5+j]))
		}
		want += (1-eps)*-math.Log(float64(probs[r*5+lab])) + eps*all/5
	}
	want /= 3
	if math.Abs(loss-want) > 1e-6 {
		t.Fatalf("loss %v, want %v", loss, want)
	}
	const h = 1e-2
	for i := range logits {
		old := logits[i]
		logits[i] = old + h
		lp, _ := SmoothedCrossEntropy(logits, 5, labels, eps, nil)
		logits[i] = old - h
		lm, _ := SmoothedCrossEntropy(logits, 5, labels, eps, nil)
		logits[i] = old
		if num := (lp - lm) / (2 * h); math.Abs(num-float64(d[i])) > 1e-3 {
			t.Errorf("logit %d: analytic %v, numeric %v", i, d[i], num)
		}
	}
	a, _ := SmoothedCrossEntropy(logits, 5, labels, 0, nil)
	b, _ := SoftmaxCrossEntropy(logits, 5, labels, nil)
	if a != b {
		t.Errorf("eps 0: %v, plain %v", a, b)
	}
}
