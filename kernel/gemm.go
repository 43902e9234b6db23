package kernel

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices, with
// op(a) m×k and op(b) k×n, through whatever blas32 implementation is
// installed (gonum's pure Go by default; package native installs OpenBLAS).
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmSplit is gemm with the columns of c split over nw goroutines, for
// products that would otherwise run on one core (the BLAS runs one thread
// per call when the kernel parallelises).
func gemmSplit(nw int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	nw = min(nw, n/64)
	if nw <= 1 {
		gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	team(nw, func(w, nw int) {
		j0, j1 := span(n, w, nw, 16)
		if j0 == j1 {
			return
		}
		bo := j0 // first column of op(b): a column offset, or a row of bᵀ
		if transB {
			bo = j0 * ldb
		}
		gemm(transA, transB, m, j1-j0, k, alpha, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
	})
}
