package kernel

import "testing"

// TestFusedRectifier: a net whose convolutions rectify their own outputs
// computes what the layers compute one by one, and a forward pass that
// stops at a convolution still returns its unrectified output.
func TestFusedRectifier(t *testing.T) {
	t.Parallel()
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
	s, err := ZooSpec("all-cnn-c", 10, 0.25)
	requireNoError(t, err)
	net, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, net.Init("he", 1))
	_, err = net.Forward(randTensor(newRNG(7), 1, 2, 3, 32, 32), false)
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
