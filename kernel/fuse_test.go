package kernel

import (
	"fmt"
	"math"
	"testing"
)

// TestFusedRectifier: a net whose convolutions rectify their own outputs
// computes what the layers compute one by one, and a forward pass that
// stops at a convolution still returns its unrectified output.
func TestFusedRectifier(t *testing.T) {
	t.Parallel()
	net := quarterAllCNNC(t)
	// Batch 8: conv7 (6×6 output) takes F(2×2) too, the Winograd path
	// without fused transforms.
	x := randTensor(newRNG(6), 1, 8, 3, 32, 32)

	// The layers one by one, without Net: no fusion.
	want := x
	for _, l := range net.Layers {
		want = l.Forward(want, false).Clone()
	}
	got, err := net.Forward(x, false)
	requireNoError(t, err)
	if d := maxDiff(got.Data, want.Data); d > 0 {
		t.Errorf("fused forward differs from layer by layer by %g", d)
	}
	conv, relu := net.Layers[1].(*Conv2D), net.Layers[2].(*ReLU)
	if !net.fused[1] || &relu.y.Data[0] != &conv.y.Data[0] {
		t.Error("conv1 did not rectify its output for relu1 in a whole forward pass")
	}

	i, ok := net.Index("conv1")
	if !ok {
		t.Fatal("no conv1")
	}
	pre, err := net.ForwardTo(x, i, false)
	requireNoError(t, err)
	negative := 0
	for _, v := range pre.Data {
		if v < 0 {
			negative++
		}
	}
	if negative == 0 {
		t.Error("ForwardTo(conv1) returned no negative value: the output was rectified")
	}
}

// TestUnfusedAfterFused: a rectifier that ran fused and then runs on its own
// (at another batch size) does not write into the convolution's output.
func TestUnfusedAfterFused(t *testing.T) {
	net := quarterAllCNNC(t)
	_, err := net.Forward(randTensor(newRNG(7), 1, 2, 3, 32, 32), false)
	requireNoError(t, err)
	conv, relu := net.Layers[1].(*Conv2D), net.Layers[2].(*ReLU)
	x := randTensor(newRNG(8), 1, 1, 3, 32, 32)
	pre := conv.Forward(x, false)
	keep := pre.Clone()
	relu.Forward(pre, false)
	if d := maxDiff(pre.Data, keep.Data); d != 0 {
		t.Errorf("the rectifier wrote into the convolution's output (max change %g)", d)
	}
}

// TestFusedRectifierBackward: a convolution that applies the backward pass
// of the rectifier below it to its input gradient (Net.BackwardFrom with
// Conv2D.backward) computes, bit for bit, what the layers' own backward
// passes compute one by one, under each rule, and in training (dropout on,
// parameter gradients) as well; and it does run fused on the paths that
// write the gradient by channel.
func TestFusedRectifierBackward(t *testing.T) {
	t.Parallel()
	net := quarterAllCNNC(t)
	rng := newRNG(9)
	// Batch 1: Winograd's adjoint on the 32×32 and 16×16 maps, col2im on
	// the stride-2 layers, shifted views on conv7; batch 8: conv7 on
	// F(2×2), whose input gradient is not the adjoint and stays unfused.
	for _, n := range []int{1, 8} {
		x := randTensor(rng, 1, n, 3, 32, 32)
		for _, c := range []struct {
			name  string
			train bool
			p     Pass
		}{
			{"gradient", false, Pass{Rule: Rule{ReLU: Gradient}, Input: true}},
			{"deconvnet", false, Pass{Rule: Rule{ReLU: Deconvnet}, Input: true}},
			{"guided", false, Pass{Rule: Rule{ReLU: Guided}, Input: true}},
			{"training", true, Pass{Params: true, Input: true}},
		} {
			y, err := net.Forward(x, c.train)
			requireNoError(t, err)
			dy := randTensor(rng, 1, y.Shape...)

			// The layers one by one: no fusion.
			net.ZeroGrad()
			want := dy
			for i := len(net.Layers) - 1; i >= 0; i-- {
				want = net.Layers[i].Backward(want, c.p).Clone()
			}
			var wantGrads [][]float32
			for _, p := range net.Params() {
				wantGrads = append(wantGrads, append([]float32(nil), p.Grad...))
			}

			net.ZeroGrad()
			fused := 0
			for i, l := range net.Layers {
				if c, ok := l.(*Conv2D); ok && i > 0 {
					if _, r := net.rectifierBelow(c, i, 0, Guided); r != nil {
						fused++
					}
				}
			}
			got, err := net.Backward(dy, c.p)
			requireNoError(t, err)
			name := func(s string) string { return fmt.Sprintf("batch %d, %s: %s", n, c.name, s) }
			if !c.train && fused < 5 {
				t.Errorf("%s", name(fmt.Sprintf("%d convolutions found their rectifier below, want 5 or more", fused)))
			}
			for i := range want.Data {
				if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
					t.Fatalf("%s", name(fmt.Sprintf("input gradient element %d: %v, layer by layer %v", i, got.Data[i], want.Data[i])))
				}
			}
			for k, p := range net.Params() {
				if d := maxDiff(p.Grad, wantGrads[k]); d != 0 {
					t.Errorf("%s", name(fmt.Sprintf("gradient of parameter %d differs by %g", k, d)))
				}
			}
		}
	}
}

// quarterAllCNNC builds All-CNN-C at width ¼ with He-initialised weights.
func quarterAllCNNC(t *testing.T) *Net {
	t.Helper()
	s, err := ZooSpec("all-cnn-c", 10, 0.25)
	requireNoError(t, err)
	net, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, net.Init("he", 1))
	return net
}
