package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tensor is a test's dense array, NCHW when 4-D.
type tensor struct {
	Shape []int
	Data  []float32
}

func newTensor(shape ...int) *tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// maps is the 4-D t as the engine's view.
func (t *tensor) maps() Maps {
	return Maps{Data: t.Data, N: t.Shape[0], C: t.Shape[1], H: t.Shape[2], W: t.Shape[3]}
}

func (t *tensor) Clone() *tensor {
	return &tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

func (t *tensor) Example(i int) []float32 { return t.maps().Example(i) }

func randTensor(rng *rand.Rand, scale float64, shape ...int) *tensor {
	t := newTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64() * scale)
	}
	return t
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// maxDiff is the largest |a−b|.
func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func requireEqual[T comparable](t *testing.T, want, got T, what string) {
	t.Helper()
	if want != got {
		t.Fatalf("%s: want %v, got %v", what, want, got)
	}
}

// ConvOut is the output size of a convolution along one axis.
func convOut(in, k, stride, pad int) int { return (in+2*pad-k)/stride + 1 }
