//go:build unix

package native_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/native"
)

// BenchmarkConvLayers times the 3×3, stride-1 convolutions of full-width
// All-CNN-C that take Winograd, through the exported API with this build's
// BLAS and the kernel's default goroutines: the forward pass (as in
// training) and the backward pass (weight and input gradients) at batch 64,
// and the forward pass at batch 1 (inference). The weights change before
// every call, as in training, so that each call transforms them. alg
// "im2col" turns Winograd off, for the baseline. cpu-ns/op is the process's
// CPU time per call, steadier than the wall time on a machine shared with
// other work.
//
//	go test ./native -run '^$' -bench 'ConvLayers/.*/.*/winograd' -count 6
func BenchmarkConvLayers(b *testing.B) {
	opts := native.Setup(0).Kernel
	s, err := kernel.ZooSpec("all-cnn-c", 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	net, err := kernel.Build(*s)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(t *kernel.Tensor, std float64) *kernel.Tensor {
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * std)
		}
		return t
	}
	in := s.Input
	for i, l := range net.Layers {
		if i > 0 {
			in = net.Shapes[i-1]
		}
		spec := l.Spec()
		if spec.Type != kernel.TypeConv || spec.Kernel != 3 || spec.Stride != 1 || in[0] < 16 {
			continue
		}
		// The layer alone, built once per algorithm, with the same weights.
		layer := kernel.Spec{Name: spec.Name, Input: in, Layers: []kernel.LayerSpec{spec}}
		convs := map[string]*kernel.Conv2D{}
		weights := randn(kernel.NewTensor(spec.Out, in[0], 3, 3), math.Sqrt(2/float64(9*in[0]))).Data
		for alg, conv := range map[string]kernel.ConvAlgorithm{"winograd": kernel.ConvAuto, "im2col": kernel.ConvIm2col} {
			o := opts
			o.Conv = conv
			n, err := o.Build(layer)
			if err != nil {
				b.Fatal(err)
			}
			convs[alg] = n.Layers[0].(*kernel.Conv2D)
			copy(convs[alg].Weight.Data, weights)
		}
		for _, batch := range []int{64, 1} {
			if batch == 1 && in[1] < 16 {
				continue // im2col either way (see winogradPays)
			}
			x := randn(kernel.NewTensor(batch, in[0], in[1], in[2]), 1)
			y := convs["im2col"].Forward(x, true)
			dy := randn(kernel.NewTensor(y.Shape...), 1)
			name := fmt.Sprintf("%s-%dto%d-%dx%d/b%d", spec.Name, in[0], spec.Out, in[1], in[2], batch)
			for _, alg := range []string{"winograd", "im2col"} {
				conv := convs[alg]
				b.Run(name+"/forward/"+alg, func(b *testing.B) {
					conv.Forward(x, true)
					t0 := cpuTime()
					for b.Loop() {
						conv.Weight.Data[0] = -conv.Weight.Data[0]
						conv.Forward(x, true)
					}
					reportCPU(b, t0)
				})
				if batch == 1 {
					continue
				}
				b.Run(name+"/backward/"+alg, func(b *testing.B) {
					conv.Forward(x, true)
					conv.Backward(dy, kernel.Pass{Params: true, Input: true})
					t0 := cpuTime()
					for b.Loop() {
						conv.Weight.Data[0] = -conv.Weight.Data[0]
						conv.Backward(dy, kernel.Pass{Params: true, Input: true})
					}
					reportCPU(b, t0)
				})
			}
		}
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per iteration since t0.
func reportCPU(b *testing.B, t0 time.Duration) {
	b.ReportMetric(float64(cpuTime()-t0)/float64(b.N), "cpu-ns/op")
}
