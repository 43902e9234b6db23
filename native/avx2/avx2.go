// Package avx2 is a single-precision matrix multiply (Sgemm) written for
// x86-64 processors with AVX2 and FMA, behind gonum's blas.Float32
// interface: the products of package kernel on the processors that most
// users train on, where package avx512 cannot run.
//
// The blocking and packing are package blocked's (native/internal/blocked);
// this package brings the register tiles: micro-kernels in assembly (6×16,
// and 6×8 for narrow products: 12 sums, two vectors of B and two
// broadcasts fill the 16 vector registers) and an 8×8 vector transpose that
// packs a transposed B. It needs no cgo, so a pure-Go build gets it too,
// and the many small products of a Winograd convolution cost no cgo call
// each.
package avx2

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/allcnn/allcnn/native/internal/blocked"
)

// Micro-kernel tile and cache blocks. A kc×16 panel of B (16 KiB) stays in
// the level-1 cache while the mc×kc block of A (96 KiB) streams from
// level 2.
const (
	mr = 6
	nr = 16
	kc = 256
	mc = 96
	nc = 1024
)

// MinColumns is the narrowest product (columns of C) that fills a
// micro-kernel's tile (6×8); narrower ones waste part of every tile.
const MinColumns = 8

// Implementation is gonum's pure-Go BLAS with Sgemm replaced by the AVX2
// one where the processor has AVX2 and FMA (Available).
type Implementation struct {
	gonum.Implementation
}

// Available reports whether this processor and build run the AVX2 Sgemm.
// Where they do not, Implementation's Sgemm is gonum's.
func Available() bool { return available }

// driver runs the assembly kernels (the Go ones where they cannot run; then
// Implementation does not call it).
var driver = newDriver(kernel, kernel8, transpose8)

// newDriver is the product on these kernels, with this package's tiles and
// blocks.
func newDriver(wide, narrow blocked.MicroKernel, tr blocked.Transpose) *blocked.Driver {
	return &blocked.Driver{MR: mr, NR: nr, Narrow: MinColumns, T: 8, KC: kc, MC: mc, NC: nc,
		Wide: wide, NarrowKernel: narrow, Transpose: tr}
}

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// with op(A) m×k, op(B) k×n and C m×n, as gonum's Sgemm does, and panics
// with gonum's messages for the same invalid arguments.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	driver.Sgemm(available, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
