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
	splitProduct(nw, m, n, func(i0, i1, j0, j1 int) {
		e.Gemm(transA, transB, i1-i0, j1-j0, k, alpha, a[aOffset(transA, lda, i0):], lda, b[bOffset(transB, ldb, j0):], ldb, beta, c[i0*ldc+j0:], ldc)
	})
}

// GemmBias sets c = op(a)·op(b) + bias, bias[i] added to row i, rectified
// (max(·, 0)) if rectify: a convolution's forward product. It splits c as
// GemmSplit does, and each goroutine multiplies its part, then adds the
// bias and rectifies in one pass while the part is in cache, so that no
// part of the work runs on one core alone. (Filling c with the bias before
// the product cost a pass more: conv1 of All-CNN-C at batch 1 took 2–3× as
// long, RATIONALE.md.)
func (e *Engine) GemmBias(nw int, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias []float32, rectify bool, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	splitProduct(nw, m, n, func(i0, i1, j0, j1 int) {
		e.Gemm(transA, transB, i1-i0, j1-j0, k, 1, a[aOffset(transA, lda, i0):], lda, b[bOffset(transB, ldb, j0):], ldb, 0, c[i0*ldc+j0:], ldc)
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			e.Affine(row, row, 1, bias[i], rectify)
		}
	})
}

// splitProduct calls part(i0, i1, j0, j1) for the blocks of an m×n product that nw
// goroutines share: column blocks (multiples of 16) where c is wide, row
// blocks (multiples of 8) where it is tall, else the whole product on the
// caller's goroutine.
func splitProduct(nw, m, n int, part func(i0, i1, j0, j1 int)) {
	switch {
	case nw > 1 && n >= 128*nw:
		Team(nw, func(w, nw int) {
			if j0, j1 := Span(n, w, nw, 16); j0 < j1 {
				part(0, m, j0, j1)
			}
		})
	case nw > 1 && m >= 32*nw:
		Team(nw, func(w, nw int) {
			if i0, i1 := Span(m, w, nw, 8); i0 < i1 {
				part(i0, i1, 0, n)
			}
		})
	default:
		part(0, m, 0, n)
	}
}

// aOffset is the offset in a of row i of op(a): a row, or a column of aᵀ.
func aOffset(trans bool, lda, i int) int {
	if trans {
		return i
	}
	return i * lda
}

// bOffset is the offset in b of column j of op(b): a column, or a row of bᵀ.
func bOffset(trans bool, ldb, j int) int {
	if trans {
		return j * ldb
	}
	return j
}
