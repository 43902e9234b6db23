package kernel

import (
	"fmt"
	"testing"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// BenchmarkWinograd times each pass of the 3×3, stride-1 convolutions of
// All-CNN-C with im2col (Conv2D) and with F(2×2, 3×3) and F(4×4, 3×3), at
// batch 64 (and batch 1 for the forward pass). GFLOP/s counts the direct
// convolution's 2 flops per multiply-add, so that the figures compare times.
// At batch 64 every call transforms the weights, as in training.
func BenchmarkWinograd(b *testing.B) {
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
	in := s.Input
	rng := newRNG(1)
	for i, l := range net.Layers {
		if i > 0 {
			in = net.Shapes[i-1]
		}
		conv, ok := l.(*Conv2D)
		if !ok || !engine.WinogradOK(conv.K, conv.S, conv.Pad) {
			continue
		}
		for _, batch := range []int{64, 1} {
			x := randTensor(rng, 1, batch, in[0], in[1], in[2])
			y := conv.Forward(x, true)
			dy := randTensor(rng, 1, y.Shape...)
			macs := float64(len(y.Data)) * float64(conv.InC*9)
			name := fmt.Sprintf("%s-%dto%d-%dx%d-pad%d/b%d", conv.spec.Name, conv.InC, conv.OutC, in[1], in[2], conv.Pad, batch)
			gflops := func(b *testing.B) {
				b.ReportMetric(2*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.Run(name+"/forward/im2col", func(b *testing.B) {
				for b.Loop() {
					conv.Forward(x, true)
				}
				gflops(b)
			})
			if batch > 1 {
				b.Run(name+"/data/im2col", func(b *testing.B) {
					conv.Forward(x, true)
					for b.Loop() {
						conv.Backward(dy, Pass{Input: true})
					}
					gflops(b)
				})
				b.Run(name+"/weights/im2col", func(b *testing.B) {
					conv.Forward(x, true)
					for b.Loop() {
						conv.Backward(dy, Pass{Params: true})
					}
					gflops(b)
				})
			}
			for _, m := range []int{2, 4} {
				wg := defaultEngine.NewWinograd(m, conv.InC, conv.OutC, conv.Pad, nil)
				out := NewTensor(y.Shape...)
				dx := NewTensor(x.Shape...)
				alg := fmt.Sprintf("winograd%d", m)
				b.Run(name+"/forward/"+alg, func(b *testing.B) {
					for b.Loop() {
						// Training changes the weights every step; inference
						// (batch 1 here) transforms them once.
						if batch > 1 {
							conv.Weight.Data[0] = -conv.Weight.Data[0]
						}
						wg.Forward(maps(x), conv.Weight.Data, conv.Bias.Data, maps(out), batch == 1, false)
					}
					gflops(b)
				})
				if batch == 1 {
					continue
				}
				b.Run(name+"/data/"+alg, func(b *testing.B) {
					for b.Loop() {
						conv.Weight.Data[0] = -conv.Weight.Data[0]
						wg.BackwardData(maps(dy), conv.Weight.Data, maps(dx), false)
					}
					gflops(b)
				})
				b.Run(name+"/weights/"+alg, func(b *testing.B) {
					for b.Loop() {
						wg.BackwardWeights(maps(x), maps(dy), conv.Weight.Grad, conv.Bias.Grad)
					}
					gflops(b)
				})
			}
		}
	}
}
