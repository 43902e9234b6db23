package kernel

import (
	"math"
	"testing"
)

// TestFusedRectifier: a net whose convolutions rectify their own outputs
// computes what the layers compute one by one, and a forward pass that
// stops at a convolution still returns its unrectified output.
func TestFusedRectifier(t *testing.T) {
	s, err := ZooSpec("all-cnn-c", 10, 0.25)
	requireNoError(t, err)
	net, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, net.Init("he", 1))
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
	if !net.Layers[1].(*Conv2D).rectify {
		t.Error("conv1 did not rectify its output in a whole forward pass")
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

// TestReLUValues: rectified is the builtin max(v, 0) bit for bit, in every build
// (the wasm build computes it with integer operations).
func TestReLUValues(t *testing.T) {
	nan := float32(math.NaN())
	for _, v := range []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), nan, -nan, 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32} {
		got, want := rectified(v), max(v, 0)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("rectified(%v) = %v (%#x), want %v (%#x)", v, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

// TestUnfusedAfterFused: a rectifier that ran fused and then runs on its own
// (at another batch size) does not write into the convolution's output.
func TestUnfusedAfterFused(t *testing.T) {
	s, err := ZooSpec("all-cnn-c", 10, 0.25)
	requireNoError(t, err)
	net, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, net.Init("he", 1))
	_, err = net.Forward(randTensor(newRNG(7), 1, 2, 3, 32, 32), false)
	requireNoError(t, err)
	conv, relu := net.Layers[1].(*Conv2D), net.Layers[2].(*ReLU)
	relu.fused = false
	conv.rectify = false
	x := randTensor(newRNG(8), 1, 1, 3, 32, 32)
	pre := conv.Forward(x, false)
	keep := pre.Clone()
	relu.Forward(pre, false)
	if d := maxDiff(pre.Data, keep.Data); d != 0 {
		t.Errorf("the rectifier wrote into the convolution's output (max change %g)", d)
	}
}
