package engine

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices, with
// op(a) m×k and op(b) k×n, on the engine's BLAS.
func (e *Engine) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl := e.blas
	if impl == nil {
		impl = blas32.Implementation()
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSplit is Gemm with c split over nw goroutines, for products that
// would otherwise run on one core (the BLAS runs one thread per call when the
// kernel parallelises): by columns where c is wide, else by rows (batch-1
// products on the small upper maps have as few as 36 columns).
func (e *Engine) GemmSplit(nw int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	switch {
	case nw > 1 && n >= 128*nw:
		Team(nw, func(w, nw int) {
			j0, j1 := Span(n, w, nw, 16)
			if j0 == j1 {
				return
			}
			bo := j0 // first column of op(b): a column offset, or a row of bᵀ
			if transB {
				bo = j0 * ldb
			}
			e.Gemm(transA, transB, m, j1-j0, k, alpha, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
		})
	case nw > 1 && m >= 32*nw:
		Team(nw, func(w, nw int) {
			i0, i1 := Span(m, w, nw, 8)
			if i0 == i1 {
				return
			}
			ao := i0 * lda // first row of op(a): a row, or a column offset of aᵀ
			if transA {
				ao = i0
			}
			e.Gemm(transA, transB, i1-i0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i0*ldc:], ldc)
		})
	default:
		e.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}
