// Package avx512 is a single-precision matrix multiply (Sgemm) written for
// x86-64 processors with AVX-512, behind gonum's blas.Float32 interface.
//
// The convolutions of package kernel spend most of their time in Sgemm. On a
// processor with AVX-512 this Sgemm runs 16 floats to an instruction, twice
// the width of the AVX2 kernels that OpenBLAS uses where its own AVX-512
// kernels are switched off (OPENBLAS_CORETYPE=Haswell, which some hosts set
// because older OpenBLAS releases compute wrong results on some newer
// processors). It needs no cgo, so a pure-Go build gets it too.
//
// The blocking and packing are package blocked's (native/internal/blocked);
// this package brings the register tiles: micro-kernels in assembly (12×32,
// and 12×16 for narrow products) and a 16×16 vector transpose that packs a
// transposed B.
package avx512

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/allcnn/allcnn/native/internal/blocked"
)

// Micro-kernel tile and cache blocks. A 12×32 tile keeps 24 of the 32 vector
// registers as sums; a kc×32 panel of B (32 KiB) stays in the level-1 cache
// while the mc×kc block of A (96 KiB) streams from level 2.
const (
	mr = 12
	nr = 32
	kc = 256
	mc = 96
	nc = 1024
)

// MinColumns is the narrowest product (columns of C) that fills a
// micro-kernel's tile (12×16); narrower ones waste part of every tile.
const MinColumns = 16

// Implementation is gonum's pure-Go BLAS with Sgemm replaced by the AVX-512
// one where the processor has it (Available).
type Implementation struct {
	gonum.Implementation
}

// Available reports whether this processor and build run the AVX-512 Sgemm.
// Where they do not, Implementation's Sgemm is gonum's.
func Available() bool { return available }

// driver runs the assembly kernels (the Go ones where they cannot run; then
// Implementation does not call it).
var driver = newDriver(kernel, kernel16, transpose16)

// newDriver is the product on these kernels, with this package's tiles and
// blocks.
func newDriver(wide, narrow blocked.MicroKernel, tr blocked.Transpose) *blocked.Driver {
	return &blocked.Driver{MR: mr, NR: nr, Narrow: MinColumns, T: 16, KC: kc, MC: mc, NC: nc,
		Wide: wide, NarrowKernel: narrow, Transpose: tr}
}

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// with op(A) m×k, op(B) k×n and C m×n, as gonum's Sgemm does, and panics
// with gonum's messages for the same invalid arguments.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	driver.Sgemm(available, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
