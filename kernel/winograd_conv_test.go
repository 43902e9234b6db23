package kernel

import (
	"fmt"
	"math"
	"testing"
)

// TestWinogradMatchesConv2D compares Winograd with the im2col Conv2D on the
// 3×3 stride-1 layers of All-CNN-C at an eighth of their width.
func TestWinogradMatchesConv2D(t *testing.T) {
	t.Parallel()
	layers := []struct{ in, out, size, pad int }{
		{3, 12, 32, 1}, {12, 12, 32, 1}, {12, 24, 16, 1}, {24, 24, 16, 1}, {24, 24, 8, 0},
	}
	const batch = 3
	tol := map[int]float64{2: 2e-6, 4: 1e-5} // relative, as the engine's own tests
	const biasTol = 1e-5
	for _, m := range []int{2, 4} {
		for _, l := range layers {
			name := fmt.Sprintf("F%d/%dto%d-%dx%d-pad%d", m, l.in, l.out, l.size, l.size, l.pad)
			t.Run(name, func(t *testing.T) {
				rng := newRNG(9)
				conv := NewConv2D("c", l.in, l.out, 3, 1, l.pad)
				conv.eng = Options{Conv: ConvIm2col}.engine() // the reference
				for i := range conv.Weight.Data {
					conv.Weight.Data[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(9*l.in)))
				}
				for i := range conv.Bias.Data {
					conv.Bias.Data[i] = float32(rng.NormFloat64() * 0.1)
				}
				x := randTensor(rng, 1, batch, l.in, l.size, l.size)
				want := conv.Forward(x, true)
				dy := randTensor(rng, 1, want.Shape...)
				wantDx := conv.Backward(dy, Pass{Params: true, Input: true})

				wg := defaultEngine.NewWinograd(m, l.in, l.out, l.pad, nil)
				y := NewTensor(want.Shape...)
				dx := NewTensor(x.Shape...)
				dw := make([]float32, len(conv.Weight.Data))
				db := make([]float32, len(conv.Bias.Data))
				wg.Forward(maps(x), conv.Weight.Data, conv.Bias.Data, maps(y), false, false)
				wg.BackwardData(maps(dy), conv.Weight.Data, maps(dx), false)
				wg.BackwardWeights(maps(x), maps(dy), dw, db)
				for _, v := range []struct {
					pass      string
					got, want []float32
				}{{"forward", y.Data, want.Data}, {"input grad", dx.Data, wantDx.Data}, {"weight grad", dw, conv.Weight.Grad}, {"bias grad", db, conv.Bias.Grad}} {
					abs, scale := maxDiff(v.got, v.want), 0.0
					for _, w := range v.want {
						scale = math.Max(scale, math.Abs(float64(w)))
					}
					rel := abs / scale
					t.Logf("%-11s max abs difference %.3g, relative %.3g", v.pass, abs, rel)
					limit := tol[m]
					if v.pass == "bias grad" {
						limit = biasTol
					}
					if rel > limit {
						t.Errorf("%s: differs from Conv2D by %.3g (relative %.3g)", v.pass, abs, rel)
					}
				}
			})
		}
	}
}

// TestConv2DUsesWinograd: the layers that the gradient checks call
// "winograd" do run Winograd, with the tile sizes the policy picks (the
// input gradient as the forward pass's adjoint where it can), and
// Options{Conv: ConvIm2col} turns it off.
func TestConv2DUsesWinograd(t *testing.T) {
	for _, c := range []struct{ size, pad, fwd, data int }{{8, 1, 4, 4}, {10, 0, 4, 2}, {6, 2, 4, 2}} {
		conv := NewConv2D("c", 16, 3, 3, 1, c.pad) // the default engine: Winograd where it pays
		x := randTensor(newRNG(1), 1, 4, 16, c.size, c.size)
		y := conv.Forward(x, true)
		conv.Backward(randTensor(newRNG(2), 1, y.Shape...), Pass{Params: true, Input: true})
		if conv.wino == nil {
			t.Fatalf("%+v: Conv2D did not use Winograd", c)
		}
		requireEqual(t, c.fwd, conv.wino.Tile(), fmt.Sprintf("%+v: forward tile", c))
		// The input gradient is the forward pass's adjoint where the fused
		// F(4×4) transforms run, else a Winograd pass of its own.
		if conv.wino.AdjointOK() {
			if conv.winoData != nil {
				t.Errorf("%+v: an input-gradient Winograd beside the adjoint", c)
			}
			continue
		}
		if conv.winoData == nil {
			t.Fatalf("%+v: no input-gradient Winograd", c)
		}
		requireEqual(t, c.data, conv.winoData.Tile(), fmt.Sprintf("%+v: input-gradient tile", c))
	}
	// A 6×6 output: with the fused transforms (where the adjoint runs) an
	// inference pass takes F(4×4), and the passes after it too but the
	// weight gradient, which a Winograd of its own keeps on F(2×2);
	// training keeps F(2×2) throughout, as does every pass without them.
	conv8 := NewConv2D("c", 16, 3, 3, 1, 1)
	conv8.Forward(randTensor(newRNG(1), 1, 4, 16, 8, 8), false)
	fused := conv8.wino.AdjointOK()
	for _, pad := range []int{0, 1} {
		for _, train := range []bool{true, false} {
			conv, ref := NewConv2D("c", 16, 3, 3, 1, pad), NewConv2D("c", 16, 3, 3, 1, pad)
			ref.eng = Options{Conv: ConvIm2col}.engine()
			rng := newRNG(3)
			for i := range conv.Weight.Data {
				conv.Weight.Data[i] = float32(rng.NormFloat64() / 12)
			}
			copy(ref.Weight.Data, conv.Weight.Data)
			x := randTensor(newRNG(1), 1, 8, 16, 8-2*pad, 8-2*pad)
			y := conv.Forward(x, train)
			requireEqual(t, 6, y.Shape[3], "output side")
			dy := randTensor(newRNG(2), 1, y.Shape...)
			dx := conv.Backward(dy, Pass{Params: true, Input: true})
			fwd := 2
			if fused && !train {
				fwd = 4
			}
			what := fmt.Sprintf("6×6 pad %d train %v", pad, train)
			requireEqual(t, fwd, conv.wino.Tile(), what+": forward tile")
			if conv.tiles[0] == nil || conv.tiles[1] != nil && (train || !fused) {
				t.Errorf("%s: runners made %v, want F(2×2)'s and F(4×4)'s only for inference", what, conv.tiles)
			}
			// The passes, each on its tile, agree with im2col.
			wantY := ref.Forward(x, train)
			wantDx := ref.Backward(dy, Pass{Params: true, Input: true})
			for _, v := range []struct {
				pass      string
				got, want []float32
			}{{"forward", y.Data, wantY.Data}, {"input grad", dx.Data, wantDx.Data}, {"weight grad", conv.Weight.Grad, ref.Weight.Grad}} {
				scale := 0.0
				for _, w := range v.want {
					scale = math.Max(scale, math.Abs(float64(w)))
				}
				if d := maxDiff(v.got, v.want); d > 1e-5*scale {
					t.Errorf("%s: %s differs from im2col by %.3g (scale %.3g)", what, v.pass, d, scale)
				}
			}
		}
	}
	conv := NewConv2D("c", 16, 3, 3, 1, 1)
	conv.eng = Options{Conv: ConvIm2col}.engine()
	conv.Forward(randTensor(newRNG(1), 1, 4, 16, 8, 8), false)
	if conv.wino != nil {
		t.Error("ConvIm2col: Conv2D still used Winograd")
	}
}

// TestWinogradWholeNet runs All-CNN-C (half width, so that its 3×3 layers
// take Winograd at batch 2) with and without Winograd: logits, parameter
// gradients and a guided-backpropagation map agree to float32 rounding.
func TestWinogradWholeNet(t *testing.T) {
	t.Parallel()
	s, err := ZooSpec("all-cnn-c", 10, 0.5)
	requireNoError(t, err)
	x := randTensor(newRNG(4), 1, 2, 3, 32, 32)
	run := func(conv ConvAlgorithm) (logits, grads, guided []float32) {
		net, err := Options{Conv: conv}.Build(*s)
		requireNoError(t, err)
		requireNoError(t, net.Init("he", 1))
		y, err := net.Forward(x, false)
		requireNoError(t, err)
		logits = y.Clone().Data
		dl := NewTensor(y.Shape...)
		SoftmaxCrossEntropy(y.Data, 10, []int{3, 7}, dl.Data)
		net.ZeroGrad()
		_, err = net.Backward(dl, Pass{Params: true})
		requireNoError(t, err)
		for _, p := range net.Params() {
			grads = append(grads, p.Grad...)
		}
		m, _, err := net.Saliency(x, []Target{{Channel: Strongest}, {Channel: Strongest}}, Rule{ReLU: Guided})
		requireNoError(t, err)
		return logits, grads, m.Data
	}
	l0, g0, m0 := run(ConvIm2col)
	l1, g1, m1 := run(ConvAuto)
	for _, c := range []struct {
		what      string
		got, want []float32
	}{{"logits", l1, l0}, {"parameter gradients", g1, g0}, {"guided map", m1, m0}} {
		scale := 0.0
		for _, v := range c.want {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		d := maxDiff(c.got, c.want)
		t.Logf("%-20s Winograd vs im2col: max |Δ| %.3g, relative to max |v| %.3g", c.what, d, d/scale)
		if d > 1e-4*scale {
			t.Errorf("%s: Winograd differs from im2col by %.3g (max |v| %.3g)", c.what, d, scale)
		}
	}
}

// TestShiftMatchesConv2D compares the shifted-view convolution (forward
// pass and input gradient) with the im2col Conv2D on All-CNN-C's conv7 at a
// sixth of its width and on a padded small map, at batch 1 (where Winograd
// does not pay and Shift runs) and batch 3, and checks that Shift ran and
// that ConvIm2col turns it off.
func TestShiftMatchesConv2D(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, out, size, pad, batch int }{{32, 32, 8, 0, 1}, {40, 24, 6, 1, 1}, {32, 16, 8, 0, 3}} {
		name := fmt.Sprintf("%dto%d-%dx%d-pad%d-b%d", c.in, c.out, c.size, c.size, c.pad, c.batch)
		rng := newRNG(11)
		ref := NewConv2D("c", c.in, c.out, 3, 1, c.pad)
		ref.eng = Options{Conv: ConvIm2col}.engine()
		conv := NewConv2D("c", c.in, c.out, 3, 1, c.pad)
		for i := range ref.Weight.Data {
			ref.Weight.Data[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(9*c.in)))
		}
		for i := range ref.Bias.Data {
			ref.Bias.Data[i] = float32(rng.NormFloat64() * 0.1)
		}
		copy(conv.Weight.Data, ref.Weight.Data)
		copy(conv.Bias.Data, ref.Bias.Data)
		x := randTensor(rng, 1, c.batch, c.in, c.size, c.size)
		want := ref.Forward(x, false).Clone()
		dy := randTensor(rng, 1, want.Shape...)
		wantDx := ref.Backward(dy, Pass{Input: true}).Clone()
		got := conv.Forward(x, false)
		gotDx := conv.Backward(dy, Pass{Input: true})
		if ref.shift != nil || conv.shift == nil {
			t.Fatalf("%s: shift used by the im2col reference %v, by the default engine %v", name, ref.shift != nil, conv.shift != nil)
		}
		for _, v := range []struct {
			pass      string
			got, want []float32
		}{{"forward", got.Data, want.Data}, {"input grad", gotDx.Data, wantDx.Data}} {
			abs, scale := maxDiff(v.got, v.want), 0.0
			for _, w := range v.want {
				scale = math.Max(scale, math.Abs(float64(w)))
			}
			if rel := abs / scale; rel > 2e-6 || scale == 0 {
				t.Errorf("%s %s: differs from im2col by %.3g (relative %.3g)", name, v.pass, abs, rel)
			}
		}
	}
}
