//go:build cgo && !noopenblas

package native

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"math"
	"strings"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// openBLAS is gonum's pure-Go BLAS with Sgemm replaced by OpenBLAS's.
type openBLAS struct {
	gonum.Implementation
}

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// with op(A) m×k, op(B) k×n and C m×n, as gonum's Sgemm does, and panics
// with gonum's messages for the same invalid arguments.
func (o openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// Validate the arguments with gonum's own checks: with alpha = 0 and
	// beta = 1 gonum's Sgemm checks everything (transposes, sizes, leading
	// dimensions, slice lengths) and then returns without touching c.
	// TestSgemmPanics holds this to gonum's behaviour.
	o.Implementation.Sgemm(tA, tB, m, n, k, 0, a, lda, b, ldb, 1, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 || !fitBlasint(m, n, k, lda, ldb, ldc) {
		// C = beta * C needs no product (and a or b may be empty), and
		// OpenBLAS's ints (32 bits here) cannot hold every Go int.
		o.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cblasTranspose(tA), cblasTranspose(tB),
		C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// cblasTranspose maps a (validated) gonum transpose to CBLAS's; for real
// matrices the conjugate transpose is the transpose.
func cblasTranspose(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

// fitBlasint reports whether every v survives conversion to OpenBLAS's
// blasint.
func fitBlasint(vs ...int) bool {
	for _, v := range vs {
		if int(C.blasint(v)) != v {
			return false
		}
	}
	return true
}

func implementation() (impl blas.Float32, backend, config string) {
	config = C.GoString(C.openblas_get_config())
	backend = "openblas"
	// The configuration starts with "OpenBLAS <version>".
	if f := strings.Fields(config); len(f) >= 2 && f[0] == "OpenBLAS" {
		backend += " " + f[1]
	}
	return openBLAS{}, backend, config
}

func setThreads(n int) {
	// OpenBLAS caps the count at the MAX_THREADS it was built with.
	C.openblas_set_num_threads(C.int(min(n, math.MaxInt32)))
}

func threads() int {
	return int(C.openblas_get_num_threads())
}
