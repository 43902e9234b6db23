package avx512

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// sgemmRef computes alpha·op(A)·op(B) + beta·C in float64.
func sgemmRef(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ia, ib := i*lda+p, p*ldb+j
				if tA != blas.NoTrans {
					ia = p*lda + i
				}
				if tB != blas.NoTrans {
					ib = j*ldb + p
				}
				av, bv := a[ia], b[ib]
				s += float64(av) * float64(bv)
			}
			cv := float64(beta) * float64(c[i*ldc+j])
			if beta == 0 {
				cv = 0
			}
			out[i*ldc+j] = float64(alpha)*s + cv
		}
	}
	return out
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// randMatrix returns a rows×cols matrix, rows ld floats apart, of values in
// [-1, 1), with NaN between the rows: a product that reads there fails.
func randMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	s := make([]float32, max(0, (rows-1)*ld+cols))
	for i := range s {
		s[i] = float32(math.NaN())
		if i%ld < cols {
			s[i] = 2*rng.Float32() - 1
		}
	}
	return s
}

// checkCase runs one product and compares it with the float64 reference,
// including the entries of c outside the m×n result, which must not change.
func checkCase(t *testing.T, kern *kernels, rng *rand.Rand, tA, tB blas.Transpose, m, n, k, pad int, alpha, beta float32) {
	t.Helper()
	rowsA, colsA := m, k
	if tA != blas.NoTrans {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if tB != blas.NoTrans {
		rowsB, colsB = n, k
	}
	lda, ldb, ldc := max(1, colsA+pad), max(1, colsB+pad), max(1, n+pad)
	a := randMatrix(rng, rowsA, colsA, lda)
	b := randMatrix(rng, rowsB, colsB, ldb)
	c := randSlice(rng, max(0, (m-1)*ldc+n))
	if beta == 0 && m > 0 && n > 0 {
		c[0] = float32(math.NaN()) // beta = 0 must not read C
	}
	want := sgemmRef(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	got := append([]float32(nil), c...)
	if kern == nil {
		Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
	} else {
		multiply(*kern, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
	}
	tol := 2e-6 * float64(k+1)
	for i := range got {
		name := fmt.Sprintf("tA=%c tB=%c m=%d n=%d k=%d pad=%d alpha=%g beta=%g: c[%d]", tA, tB, m, n, k, pad, alpha, beta, i)
		if i%ldc >= n {
			if math.Float32bits(got[i]) != math.Float32bits(c[i]) {
				t.Fatalf("%s = %v outside the result, want it untouched (%v)", name, got[i], c[i])
			}
			continue
		}
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			t.Fatalf("%s = %v, want %v (|difference| %.3g > %.3g)", name, got[i], want[i], d, tol)
		}
	}
}

// TestSgemm holds Sgemm (the assembly kernel) to a float64 reference.
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

func testSgemm(t *testing.T, kern *kernels) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []struct{ m, n, k int }{
		{1, 1, 1}, {1, 33, 2}, {13, 1, 5}, {12, 32, 1}, {12, 32, 7}, {11, 31, 3},
		{13, 33, 9}, {24, 64, 256}, {25, 65, 257}, {96, 512, 96}, {97, 100, 513},
		{192, 256, 864}, {5, 2100, 20}, {200, 40, 600}, {24, 16, 8}, {25, 20, 30},
		{12, 48, 3}, {13, 50, 17}, {30, 63, 9}, {36, 8, 40}, {7, 1030, 5},
	}
	trans := []blas.Transpose{blas.NoTrans, blas.Trans}
	scales := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {-0.5, 0.25}, {2, 0}}
	for _, sz := range sizes {
		for _, tA := range trans {
			for _, tB := range trans {
				for _, sc := range scales {
					for _, pad := range []int{0, 5} {
						checkCase(t, kern, rng, tA, tB, sz.m, sz.n, sz.k, pad, sc.alpha, sc.beta)
					}
				}
			}
		}
	}
}

// TestSgemmConcurrent runs products on several goroutines at once: each must
// get its own packing buffers.
func TestSgemmConcurrent(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512: Sgemm is gonum's")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 5 {
				checkCase(t, nil, rng, blas.NoTrans, blas.NoTrans, 40+g, 70, 300, 1, 1, 1)
			}
		}()
	}
	wg.Wait()
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
		if Available() {
			checkCase(t, nil, rng, tA, tB, m, nn, k, pad, alpha, beta)
		}
		checkCase(t, &kernels{kernelGo, kernelGo16}, rng, tA, tB, m, nn, k, pad, alpha, beta)
	}
}
