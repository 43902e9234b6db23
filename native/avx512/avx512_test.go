package avx512

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/allcnn/allcnn/internal/sgemmtest"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// TestSgemm holds Sgemm (the assembly kernel) to the project's contract.
func TestSgemm(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512: Sgemm is gonum's")
	}
	testSgemm(t, nil)
}

// TestSgemmGoKernel runs the blocking and packing on the Go micro-kernel, so
// that they are tested on every platform.
func TestSgemmGoKernel(t *testing.T) {
	testSgemm(t, &kernels{kernelGo, kernelGo16})
}

// testSgemm holds the product on kern (nil: the assembly kernels, as
// Implementation runs them) to the project's Sgemm contract
// (internal/sgemmtest).
func testSgemm(t *testing.T, kern *kernels) {
	var f sgemmtest.Func = Implementation{}.Sgemm
	if kern != nil {
		f = func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			multiply(*kern, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	worst := sgemmtest.Check(t, f, sgemmtest.Cases(sgemmtest.Sizes, false))
	t.Logf("largest error %.3f of the bound", worst)
}

// TestSgemmConcurrent runs products on several goroutines at once: each must
// get its own packing buffers.
func TestSgemmConcurrent(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512: Sgemm is gonum's")
	}
	sgemmtest.Concurrent(t, Implementation{}.Sgemm, 8, 5)
}

// TestKernel compares the assembly micro-kernel with the Go one on panels
// read packed, row-major and column-major, with and without add. The sums
// are the same products added in the same order, so only fused
// multiply-adds may differ: by an ulp or so of each step.
func TestKernel(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512")
	}
	for _, kk := range []struct {
		name     string
		asm, ref microKernel
	}{{"12×32", kernel, kernelGo}, {"12×16", kernel16, kernelGo16}} {
		testKernel(t, kk.name, kk.asm, kk.ref)
	}
}

// testKernel compares one assembly micro-kernel with its Go copy.
func testKernel(t *testing.T, name string, asm, ref microKernel) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range []int{1, 2, 7, 64, 300} {
		for _, layout := range []string{"packed", "rows", "columns"} {
			for _, add := range []bool{false, true} {
				const ld = 37 // floats to a row of A's matrix, and of C
				a := randSlice(rng, max(mr, k)*ld+mr*k)
				rs, ks := 4, 4*mr
				switch layout {
				case "rows": // element (r, p) at a[r·ld + p]
					rs, ks = 4*ld, 4
				case "columns": // element (r, p) at a[p·ld + r]
					rs, ks = 4, 4*ld
				}
				b := randSlice(rng, k*(nr+3))
				bs := 4 * nr
				if layout != "packed" {
					bs = 4 * (nr + 3) // a row-major matrix's columns
				}
				c0 := randSlice(rng, (mr-1)*(ld+nr)+nr)
				got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
				asm(k, &a[0], rs, ks, &b[0], bs, &got[0], ld+nr, add)
				ref(k, &a[0], rs, ks, &b[0], bs, &want[0], ld+nr, add)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*float64(k+1) {
						t.Fatalf("%s k=%d %s add=%v: c[%d] = %v, Go kernel %v", name, k, layout, add, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestTranspose16(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const ss, ds = 21, 37 // floats to a row
	src := randSlice(rng, 15*ss+16)
	for _, tr := range []struct {
		name string
		f    func(dst *float32, ds int, src *float32, ss int)
		ok   bool
	}{{"Go", transpose16Go, true}, {"assembly", transpose16, Available()}} {
		if !tr.ok {
			continue
		}
		dst := make([]float32, 15*ds+16+1)
		tr.f(&dst[0], 4*ds, &src[0], 4*ss)
		for r := range 16 {
			for c := range 16 {
				if got, want := dst[c*ds+r], src[r*ss+c]; got != want {
					t.Fatalf("%s: transposed (%d, %d) = %v, want %v", tr.name, c, r, got, want)
				}
			}
		}
		for i, v := range dst {
			if i%ds >= 16 && v != 0 {
				t.Fatalf("%s: wrote dst[%d] outside the block", tr.name, i)
			}
		}
	}
}

// TestSgemmRandomShapes runs products of random sizes, strides, transposes
// and scales, so that every mix of full, narrow and edge panels comes up,
// on the assembly kernels where they run and on the Go ones everywhere.
func TestSgemmRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	trans := []blas.Transpose{blas.NoTrans, blas.Trans}
	scales := []float32{0, 1, -0.75, 2}
	n := 300
	if testing.Short() {
		n = 50
	}
	for range n {
		m, nn, k := 1+rng.IntN(80), 1+rng.IntN(110), 1+rng.IntN(300)
		tA, tB := trans[rng.IntN(2)], trans[rng.IntN(2)]
		pad := rng.IntN(4)
		alpha, beta := scales[1+rng.IntN(3)], scales[rng.IntN(4)]
		c := sgemmtest.Case{TA: tA, TB: tB, M: m, N: nn, K: k, Alpha: alpha, Beta: beta, Pad: pad}
		if Available() {
			sgemmtest.Run(t, Implementation{}.Sgemm, c, rng)
		}
		sgemmtest.Run(t, goKernels, c, rng)
	}
}

// goKernels is the product on the Go micro-kernels.
func goKernels(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	multiply(kernels{kernelGo, kernelGo16}, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
