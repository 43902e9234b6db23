package native_test

import (
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/native"
)

// The four figures of `allcnn bench` (and ../shared/bench/peer_torch.py)
// for full-width All-CNN-C, as go test benchmarks with this build's BLAS,
// so that a change can be judged with benchstat.

// -winograd=false times the im2col path alone, for benchstat comparisons:
// go test -bench AllCNNC ./native -args -winograd=false
var winograd = flag.Bool("winograd", true, "let 3×3 stride-1 convolutions use Winograd")

func benchNet(b *testing.B) (*kernel.Net, func(n int) *kernel.Tensor) {
	b.Helper()
	opts := native.Setup(0).Kernel
	if !*winograd {
		opts.Conv = kernel.ConvIm2col
	}
	s, err := kernel.ZooSpec("all-cnn-c", 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	net, err := opts.Build(*s)
	if err != nil {
		b.Fatal(err)
	}
	if err := net.Init("he", 1); err != nil {
		b.Fatal(err)
	}
	// Frozen, as a loaded model's net and allcnn bench's inference net
	// are; train-b64 changes no weight (it has no optimiser step).
	net.Freeze()
	rng := rand.New(rand.NewPCG(1, 1))
	return net, func(n int) *kernel.Tensor {
		x := kernel.NewTensor(n, 3, 32, 32)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
}

func BenchmarkAllCNNC(b *testing.B) {
	net, randn := benchNet(b)
	const batch = 64
	x, x1 := randn(batch), randn(1)
	b.Run("train-b64", func(b *testing.B) {
		labels := make([]int, batch)
		dl := kernel.NewTensor(batch, 10, 1, 1)
		for b.Loop() {
			y, _ := net.Forward(x, true)
			kernel.SoftmaxCrossEntropy(y.Data, 10, labels, dl.Data)
			net.ZeroGrad()
			if _, err := net.Backward(dl, kernel.Pass{Params: true}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
	})
	b.Run("infer-b64", func(b *testing.B) {
		for b.Loop() {
			net.Forward(x, false)
		}
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
	})
	b.Run("infer-b1", func(b *testing.B) {
		for b.Loop() {
			net.Forward(x1, false)
		}
	})
	b.Run("guided-b1", func(b *testing.B) {
		guided := kernel.Rule{ReLU: kernel.Guided}
		for b.Loop() {
			if _, _, err := net.Saliency(x1, []kernel.Target{{Channel: kernel.Strongest}}, guided); err != nil {
				b.Fatal(err)
			}
		}
	})
}
