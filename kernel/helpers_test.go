package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randTensor(rng *rand.Rand, scale float64, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64() * scale)
	}
	return t
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// dot is Σ a·b in float64.
func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// maxDiff is the largest |a−b|.
func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func requireNoError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func requireEqual[T comparable](t *testing.T, want, got T, what string) {
	t.Helper()
	if want != got {
		t.Fatalf("%s: want %v, got %v", what, want, got)
	}
}

// grid makes a 1×1×h×w tensor from rows.
func grid(rows [][]float32) *Tensor {
	t := NewTensor(1, 1, len(rows), len(rows[0]))
	for i, r := range rows {
		copy(t.Data[i*len(r):], r)
	}
	return t
}

func requireGrid(t *testing.T, want [][]float32, got *Tensor, what string) {
	t.Helper()
	w := grid(want)
	if !sameShape(w.Shape, got.Shape) || maxDiff(w.Data, got.Data) > 1e-5 {
		t.Fatalf("%s:\nwant %v\ngot  %v", what, want, rowsOf(got))
	}
}

func rowsOf(t *Tensor) [][]float32 {
	h, w := t.Shape[len(t.Shape)-2], t.Shape[len(t.Shape)-1]
	var rows [][]float32
	for i := 0; i < h; i++ {
		rows = append(rows, t.Data[i*w:(i+1)*w])
	}
	return rows
}
