//go:build wasm

package simd

import (
	"runtime"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

//go:wasmimport allcnn_simd sgemm_work
func sgemmWork() int32

//go:wasmimport allcnn_simd sgemm
func sgemm(ta, tb, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32, work unsafe.Pointer)

// Use installs the kernels' Sgemm with blas32.Use if the host provides the
// kernels, and reports whether it did.
func Use() bool {
	n := sgemmWork()
	if n <= 0 {
		return false
	}
	blas32.Use(kernels{work: make([]byte, n)})
	return true
}

// kernels is gonum's pure-Go BLAS with Sgemm replaced by the SIMD128 one.
type kernels struct {
	gonum.Implementation
	work []byte // sgemm's scratch, used under mu
}

// mu guards the scratch: goroutines may interleave at any Go call.
var mu sync.Mutex

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// with op(A) m×k, op(B) k×n and C m×n, as gonum's Sgemm does, and panics
// with gonum's messages for the same invalid arguments.
func (s kernels) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// With alpha = 0 and beta = 1 gonum's Sgemm checks every argument
	// (transposes, sizes, strides, slice lengths) and touches nothing, so
	// the kernels below only ever see valid products.
	s.Implementation.Sgemm(tA, tB, m, n, k, 0, a, lda, b, ldb, 1, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		// C = beta·C needs no product (and a or b may be empty).
		s.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Valid sizes fit in int32: a slice in 32-bit memory holds < 2³⁰ floats.
	mu.Lock()
	sgemm(transposed(tA), transposed(tB), int32(m), int32(n), int32(k),
		alpha, unsafe.Pointer(&a[0]), int32(lda), unsafe.Pointer(&b[0]), int32(ldb),
		beta, unsafe.Pointer(&c[0]), int32(ldc), unsafe.Pointer(&s.work[0]))
	mu.Unlock()
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}

// transposed is 1 for a (validated) transpose, 0 for none.
func transposed(t blas.Transpose) int32 {
	if t == blas.NoTrans {
		return 0
	}
	return 1
}
