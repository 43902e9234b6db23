package engine

import (
	"math/rand/v2"
	"testing"
)

// splitShapes are products that GemmSplit and GemmBias split by columns,
// by rows, or not at all.
var splitShapes = []struct{ m, n, k int }{
	{5, 700, 9},  // wide: columns
	{200, 36, 7}, // tall and narrow: rows
	{10, 20, 3},  // small: one call
}

// gemmOperands returns random operands of an m×n×k product with leading
// dimensions wider than the matrices, and c's starting values.
func gemmOperands(rng *rand.Rand, m, n, k int, ta, tb bool) (a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int) {
	lda, ldb, ldc = k+3, n+2, n+5
	ar, br := m, k
	if ta {
		lda, ar = m+3, k
	}
	if tb {
		ldb, br = k+2, n
	}
	return randTensor(rng, 1, ar*lda).Data, lda, randTensor(rng, 1, br*ldb).Data, ldb, randTensor(rng, 1, m*ldc).Data, ldc
}

// TestGEMMSplit: a product split over goroutines, by columns or by rows,
// equals the product in one call, for every transpose and with leading
// dimensions wider than the matrices.
func TestGEMMSplit(t *testing.T) {
	rng := newRNG(3)
	e := New(Config{})
	for _, sh := range splitShapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				m, n, k := sh.m, sh.n, sh.k
				a, lda, b, ldb, c0, ldc := gemmOperands(rng, m, n, k, ta, tb)
				want := append([]float32(nil), c0...)
				e.Gemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, ldc)
				for _, nw := range []int{2, 3, 4} {
					got := append([]float32(nil), c0...)
					e.GemmSplit(nw, ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, got, ldc)
					if d := maxDiff(got, want); d > 1e-5 {
						t.Errorf("%dx%dx%d transA=%v transB=%v %d goroutines: differs by %g", m, n, k, ta, tb, nw, d)
					}
				}
			}
		}
	}
}

// TestGemmBias: c = op(a)·op(b) + bias, rectified or not, whether the
// goroutines split it by columns or rows or it runs in one call, equals the
// product, the bias and the rectifier computed apart, and leaves the
// columns past n of each row of c as they were.
func TestGemmBias(t *testing.T) {
	rng := newRNG(4)
	e := New(Config{})
	for _, sh := range splitShapes {
		for _, ta := range []bool{false, true} {
			for _, rectify := range []bool{false, true} {
				m, n, k := sh.m, sh.n, sh.k
				a, lda, b, ldb, c0, ldc := gemmOperands(rng, m, n, k, ta, false)
				bias := randTensor(rng, 1, m).Data
				want := append([]float32(nil), c0...)
				e.Gemm(ta, false, m, n, k, 1, a, lda, b, ldb, 0, want, ldc)
				for i := range m {
					for j := range n {
						v := want[i*ldc+j] + bias[i]
						if rectify {
							v = max(v, 0)
						}
						want[i*ldc+j] = v
					}
				}
				for _, nw := range []int{1, 2, 3} {
					got := append([]float32(nil), c0...)
					e.GemmBias(nw, ta, false, m, n, k, a, lda, b, ldb, bias, rectify, got, ldc)
					if d := maxDiff(got, want); d > 1e-5 {
						t.Errorf("%dx%dx%d transA=%v rectify=%v %d goroutines: differs by %g", m, n, k, ta, rectify, nw, d)
					}
				}
			}
		}
	}
}
