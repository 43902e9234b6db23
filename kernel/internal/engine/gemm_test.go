package engine

import (
	"fmt"
	"testing"
)

// TestGEMMSplit: a product split over goroutines, by columns or by rows,
// equals the product in one call, for every transpose and with leading
// dimensions wider than the matrices.
func TestGEMMSplit(t *testing.T) {
	rng := newRNG(3)
	e := New(Config{})
	for _, sh := range []struct{ m, n, k int }{
		{5, 700, 9},  // wide: columns
		{200, 36, 7}, // tall and narrow: rows
		{10, 20, 3},  // small: one call
	} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				m, n, k := sh.m, sh.n, sh.k
				lda, ldb, ldc := k+3, n+2, n+5
				ar, br := m, k
				if ta {
					lda, ar = m+3, k
				}
				if tb {
					ldb, br = k+2, n
				}
				a := randTensor(rng, 1, ar*lda).Data
				b := randTensor(rng, 1, br*ldb).Data
				c0 := randTensor(rng, 1, m*ldc).Data
				want := append([]float32(nil), c0...)
				e.Gemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, ldc)
				for _, nw := range []int{2, 3, 4} {
					got := append([]float32(nil), c0...)
					e.GemmSplit(nw, ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, got, ldc)
					if d := maxDiff(got, want); d > 1e-5 {
						t.Errorf("%s: differs by %g", fmt.Sprintf("%dx%dx%d transA=%v transB=%v %d goroutines", m, n, k, ta, tb, nw), d)
					}
				}
			}
		}
	}
}
