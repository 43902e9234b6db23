package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// testNet is an architecture to export, with its preprocessing.
type testNet struct {
	name string
	spec kernel.Spec
	prep preprocess.Params
}

// channelNorm is CIFAR-10's per-channel normalisation.
var channelNorm = preprocess.Params{Kind: preprocess.Channel, Place: preprocess.PlaceResize,
	Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}

// zooSpec is a paper architecture at a small width.
func zooSpec(t testing.TB, name string, classes int, width float64) kernel.Spec {
	t.Helper()
	s, err := kernel.ZooSpec(name, classes, width)
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

// testNets are the nets every exporter test runs: every layer type, every
// preprocessing and placement that Export writes.
func testNets(t testing.TB) []testNet {
	every := kernel.Spec{Name: "every-layer", Input: [3]int{3, 13, 11}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeDropout, P: 0.2},
		{Type: kernel.TypeConv, Name: "conv1", Out: 6, Kernel: 3, Stride: 1, Pad: 1},
		{Type: kernel.TypeBatchNorm, Name: "conv1_bn", Eps: 1e-3},
		{Type: kernel.TypeReLU},
		{Type: kernel.TypeMaxPool, Name: "pool1", Kernel: 2, Stride: 2, Ceil: true},
		{Type: kernel.TypeConv, Name: "conv2", Out: 8, Kernel: 5, Stride: 2, Pad: 2},
		{Type: kernel.TypeLeakyReLU, Slope: 0.2},
		{Type: kernel.TypePNorm, Name: "pool2", Kernel: 3, Stride: 1, Pad: 1, P: 2},
		{Type: kernel.TypeMaxPool, Name: "pool3", Kernel: 3, Stride: 2, Pad: 1},
		{Type: kernel.TypeConv, Name: "conv3", Out: 5, Kernel: 1, Stride: 1},
		{Type: kernel.TypeGAP, Name: "gap"},
	}}
	canvas := channelNorm
	canvas.Place, canvas.Size = preprocess.PlaceCanvas, [2]int{32, 32}
	crop := channelNorm
	crop.Place, crop.Size = preprocess.PlaceCrop, [2]int{72, 80}
	imagenet := zooSpec(t, "imagenet-all-cnn", 7, 1.0/16)
	imagenet.Input = [3]int{3, 64, 64} // smaller than 224, for speed: the net allows it
	return []testNet{
		{"all-cnn-c", zooSpec(t, "all-cnn-c", 10, 0.125), channelNorm},
		{"model-c", zooSpec(t, "model-c", 10, 0.0625), preprocess.Params{Kind: preprocess.None, Place: preprocess.PlaceResize}},
		{"every-layer", every, channelNorm},
		{"large-canvas", zooSpec(t, "large-all-cnn", 10, 1.0/32), canvas},
		{"imagenet-crop", imagenet, crop},
	}
}

// seededFile is a weight file of s with He-initialised weights and, so
// that no parameter is trivially zero or one, random biases and batchnorm
// statistics.
func seededFile(t testing.TB, s kernel.Spec, p preprocess.Params, seed uint64) *format.File {
	t.Helper()
	n, err := kernel.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init("he", seed); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, q := range n.Tensors() {
		for i := range q.Data {
			switch {
			case len(q.Shape) > 1:
			case q.Name[len(q.Name)-4:] == "_var":
				q.Data[i] = 0.5 + rng.Float32()
			default:
				q.Data[i] = 0.2 * (rng.Float32() - 0.3)
			}
		}
	}
	classes := make([]string, n.Classes())
	for i := range classes {
		classes[i] = fmt.Sprintf("class %d", i)
	}
	f := format.FromNet(n, classes, p, format.F32, nil)
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	return f
}

// pixels is a batch of n random images of c×h×w whole pixel values.
func pixels(n, c, h, w int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = float32(rng.IntN(256))
	}
	return x
}

// logits runs f's net in evaluation mode on a batch of images at the
// source size (pixel values), preprocessed and placed as f says.
func logits(t testing.TB, f *format.File, img []float32, n int) []float32 {
	t.Helper()
	net, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	in := f.Arch.Input
	sh, sw := f.Preprocess.SourceSize(in)
	per, size := in[0]*sh*sw, in[0]*in[1]*in[2]
	x := kernel.NewTensor(n, in[0], in[1], in[2])
	for i := range n {
		if err := f.Preprocess.InputFromPixels(img[i*per:(i+1)*per], in[0], sh, sw, in, x.Data[i*size:(i+1)*size]); err != nil {
			t.Fatal(err)
		}
	}
	out, err := net.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	return out.Data
}

// maxRelDiff is max |a−b| over max |b|: the difference relative to the
// reference's scale.
func maxRelDiff(t testing.TB, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d values against %d", len(a), len(b))
	}
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	if m == 0 {
		return d
	}
	return d / m
}

func nanValue() float64 { return math.NaN() }
