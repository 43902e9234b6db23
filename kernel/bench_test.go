package kernel

import (
	"fmt"
	"testing"
)

// BenchmarkConvAllCNNC times the forward and backward passes of each
// convolution of All-CNN-C at batch 64, reporting GFLOP/s (2 per MAC; the
// backward pass does two products, input and weight gradients).
func BenchmarkConvAllCNNC(b *testing.B) {
	s, err := ZooSpec("all-cnn-c", 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	net, err := Build(*s)
	if err != nil {
		b.Fatal(err)
	}
	// Real weights: gonum's Sgemm skips zero entries, so zeros time nothing.
	if err := net.Init("he", 1); err != nil {
		b.Fatal(err)
	}
	const batch = 64
	in := s.Input
	rng := newRNG(1)
	for i, l := range net.Layers {
		conv, ok := l.(*Conv2D)
		if !ok {
			continue
		}
		if i > 0 {
			in = net.Shapes[i-1]
		}
		x := randTensor(rng, 1, batch, in[0], in[1], in[2])
		y := conv.Forward(x, true)
		macs := float64(len(y.Data)) * float64(conv.InC*conv.K*conv.K)
		dy := randTensor(rng, 1, y.Shape...)
		name := fmt.Sprintf("%s-%dx%d-s%d-%dto%d", conv.spec.Name, conv.K, conv.K, conv.S, conv.InC, conv.OutC)
		b.Run(name+"/forward", func(b *testing.B) {
			for b.Loop() {
				conv.Forward(x, true)
			}
			b.ReportMetric(2*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/backward", func(b *testing.B) {
			conv.Forward(x, true)
			for b.Loop() {
				conv.Backward(dy, Pass{Params: true, Input: true})
			}
			b.ReportMetric(4*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkAllCNNCTrainStep is one forward and backward pass at batch 64.
func BenchmarkAllCNNCTrainStep(b *testing.B) {
	s, _ := ZooSpec("all-cnn-c", 10, 1)
	net, _ := Build(*s)
	if err := net.Init("he", 1); err != nil {
		b.Fatal(err)
	}
	const batch = 64
	x := randTensor(newRNG(1), 1, batch, 3, 32, 32)
	labels := make([]int, batch)
	dlogits := NewTensor(batch, 10, 1, 1)
	for b.Loop() {
		y, _ := net.Forward(x, true)
		SoftmaxCrossEntropy(y.Data, 10, labels, dlogits.Data)
		net.ZeroGrad()
		if _, err := net.Backward(dlogits, Pass{Params: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
}
