package native_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/allcnn/allcnn/internal/sgemmtest"
	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/native/avx2"
	"github.com/allcnn/allcnn/native/avx512"
)

// TestSgemmMatchesGonum is a differential test: the Sgemm that Use installs
// must agree with gonum's pure-Go Sgemm on every shape, transpose, alpha,
// beta and stride below, at one thread and at the default thread count.
func TestSgemmMatchesGonum(t *testing.T) {
	defaultThreads := native.Threads()
	t.Cleanup(func() { native.Use(defaultThreads) })

	for _, threads := range []int{1, defaultThreads} {
		info := native.Use(threads)
		t.Logf("installed: %v", info)
		worst := checkSgemm(t, blas32.Implementation())
		t.Logf("threads=%d: largest error %.3f of the contract's bound", info.Threads, worst)
		if info.Threads == defaultThreads {
			break // the default count was just tested (or threads has no effect)
		}
	}
}

// checkSgemm holds impl to the project's Sgemm contract
// (internal/sgemmtest), the empty shapes and ConjTrans included, and
// returns the largest error as a fraction of the contract's bound.
func checkSgemm(t *testing.T, impl blas.Float32) float64 {
	t.Helper()
	return sgemmtest.Check(t, impl.Sgemm, sgemmtest.Cases(append(sgemmtest.Degenerate, sgemmtest.Sizes...), true))
}

// TestSgemmConcurrent runs products from several goroutines at once, as
// batch-level parallelism does, at the default thread count.
func TestSgemmConcurrent(t *testing.T) {
	native.Use(0)
	sgemmtest.Concurrent(t, blas32.Implementation().Sgemm, 4, 10)
}

// sgemmCase holds the operands of one Sgemm call. Padding between rows
// (when ld exceeds the row length) holds NaN in a and b, which must never be
// read, and a sentinel in c, which must never be written.
type sgemmCase struct {
	a, b, c       []float32
	lda, ldb, ldc int
}

func newSgemmCase(rng *rand.Rand, tA, tB blas.Transpose, m, n, k, pad int, nanC bool) sgemmCase {
	rowsA, colsA := m, k
	if tA != blas.NoTrans {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if tB != blas.NoTrans {
		rowsB, colsB = n, k
	}
	var s sgemmCase
	s.a, s.lda = sgemmtest.Matrix(rng, rowsA, colsA, pad, float32(math.NaN()), false)
	s.b, s.ldb = sgemmtest.Matrix(rng, rowsB, colsB, pad, float32(math.NaN()), false)
	// With beta = 0, C's old values must be ignored, NaN included.
	s.c, s.ldc = sgemmtest.Matrix(rng, m, n, pad, 7, nanC)
	return s
}

// TestSgemmPanics checks that the installed Sgemm rejects invalid arguments
// exactly as gonum does (same panic message), and accepts the same
// degenerate ones.
func TestSgemmPanics(t *testing.T) {
	native.Use(0)
	impl := blas32.Implementation()
	x := make([]float32, 100)
	const N, T = blas.NoTrans, blas.Trans
	for _, tc := range []struct {
		name           string
		tA, tB         blas.Transpose
		m, n, k        int
		a              []float32
		lda            int
		b              []float32
		ldb            int
		c              []float32
		ldc            int
		wantPanicMatch string // "" for no panic
	}{
		{"ok", N, N, 2, 3, 4, x, 4, x, 3, x, 3, ""},
		{"bad tA", 'X', N, 2, 3, 4, x, 4, x, 3, x, 3, "transpose"},
		{"bad tB", N, 0, 2, 3, 4, x, 4, x, 3, x, 3, "transpose"},
		{"m < 0", N, N, -1, 3, 4, x, 4, x, 3, x, 3, "m < 0"},
		{"n < 0", N, N, 2, -1, 4, x, 4, x, 3, x, 3, "n < 0"},
		{"k < 0", N, N, 2, 3, -1, x, 4, x, 3, x, 3, "k < 0"},
		{"lda < k", N, N, 2, 3, 4, x, 3, x, 3, x, 3, "leading dimension of A"},
		{"lda < m (tA)", T, N, 2, 3, 4, x, 1, x, 3, x, 3, "leading dimension of A"},
		{"ldb < n", N, N, 2, 3, 4, x, 4, x, 2, x, 3, "leading dimension of B"},
		{"ldb < k (tB)", N, T, 2, 3, 4, x, 4, x, 3, x, 3, "leading dimension of B"},
		{"ldc < n", N, N, 2, 3, 4, x, 4, x, 3, x, 2, "leading dimension of C"},
		{"lda 0 with k 0", N, N, 2, 3, 0, x, 0, x, 3, x, 3, "leading dimension of A"},
		{"ldc 0 with m 0", N, N, 0, 0, 0, nil, 1, nil, 1, nil, 0, "leading dimension of C"},
		{"short a", N, N, 2, 3, 4, x[:7], 4, x, 3, x, 3, "length of a"},
		{"short b", N, N, 2, 3, 4, x, 4, x[:11], 3, x, 3, "length of b"},
		{"short c", N, N, 2, 3, 4, x, 4, x, 3, x[:5], 3, "length of c"},
		{"m 0, empty slices", N, N, 0, 3, 4, nil, 4, nil, 3, nil, 3, ""},
		{"n 0, empty slices", N, N, 2, 0, 4, nil, 4, nil, 1, nil, 1, ""},
		{"k 0, empty a and b", N, N, 1, 3, 0, nil, 1, nil, 3, x, 3, ""},
	} {
		got := panicMessage(func() {
			impl.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, tc.c, tc.ldc)
		})
		want := panicMessage(func() {
			gonum.Implementation{}.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, tc.c, tc.ldc)
		})
		if got != want {
			t.Errorf("%s: installed Sgemm panics with %q, gonum with %q", tc.name, got, want)
		}
		if (tc.wantPanicMatch == "") != (want == "") || !strings.Contains(want, tc.wantPanicMatch) {
			t.Errorf("%s: gonum panics with %q, want a panic matching %q", tc.name, want, tc.wantPanicMatch)
		}
	}
}

// panicMessage returns what f panics with, or "" if it returns.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestUse(t *testing.T) {
	defaultThreads := native.Threads()
	t.Cleanup(func() { native.Use(defaultThreads) })

	info := native.Use(1)
	t.Logf("Use(1): %v", info)
	if !strings.HasPrefix(info.Backend, wantBackend) {
		t.Errorf("Use(1).Backend = %q, want it to start with %q", info.Backend, wantBackend)
	}
	wantThreads := 1
	if wantBackend == "gonum" {
		wantThreads = runtime.GOMAXPROCS(0)
	}
	if info.Threads != wantThreads || native.Threads() != wantThreads {
		t.Errorf("after Use(1): Info.Threads = %d, Threads() = %d, want %d", info.Threads, native.Threads(), wantThreads)
	}
	if info := native.Use(0); info.Threads != wantThreads {
		t.Errorf("Use(0) after Use(1): Threads = %d, want it kept at %d", info.Threads, wantThreads)
	}
}

// TestUseSgemm checks which of the project's Sgemm kernels Use installs,
// as the environment turns them off, and that the product it installs then
// keeps the contract (internal/sgemmtest) on a sample of its cases, narrow
// products (OpenBLAS's) and wide ones (the kernels') alike.
func TestUseSgemm(t *testing.T) {
	t.Cleanup(func() { native.Use(native.Threads()) })
	// want is the kernel that runs where the processor has it and the
	// environment leaves it on: AVX-512 first, then AVX2.
	kernelFor := func(on512, on2 bool) string {
		switch {
		case on512 && avx512.Available():
			return "avx512"
		case on2 && avx2.Available():
			return "avx2"
		}
		return ""
	}
	for _, env := range []struct{ avx512, avx2 string }{{"", ""}, {"0", ""}, {"", "0"}, {"0", "0"}} {
		want := kernelFor(env.avx512 != "0", env.avx2 != "0")
		t.Run(fmt.Sprintf("ALLCNN_AVX512=%s,ALLCNN_AVX2=%s", env.avx512, env.avx2), func(t *testing.T) {
			t.Setenv("ALLCNN_AVX512", env.avx512)
			t.Setenv("ALLCNN_AVX2", env.avx2)
			info := native.Use(1)
			if info.Sgemm != want {
				t.Fatalf("Use(1).Sgemm = %q, want %q", info.Sgemm, want)
			}
			if want != "" && !strings.HasPrefix(info.String(), want+" sgemm + ") {
				t.Errorf("Info.String() = %q, want it to name the %s Sgemm first", info, want)
			}
			cases := sgemmtest.Cases(append(sgemmtest.Degenerate, sgemmtest.Sizes...), true)
			sgemmtest.Check(t, blas32.Implementation().Sgemm, sgemmtest.Sample(cases, 150, 1))
		})
	}
}

// BenchmarkSgemm times the products of All-CNN-C's convolutions as im2col
// GEMMs (M output channels, N output pixels, K = input channels × 3×3 or
// 1×1), forward and the two backward products, for the installed backend at
// one and at the default thread count, and for gonum's pure Go.
func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		tA, tB  blas.Transpose
		m, n, k int
	}{
		{blas.NoTrans, blas.NoTrans, 96, 1024, 27},   // conv1: 3→96, 3×3, 32×32
		{blas.NoTrans, blas.NoTrans, 96, 1024, 864},  // conv2: 96→96, 3×3, 32×32
		{blas.NoTrans, blas.NoTrans, 192, 256, 1728}, // conv5: 192→192, 3×3, 16×16
		{blas.NoTrans, blas.NoTrans, 192, 64, 1728},  // conv7: 192→192, 3×3, 8×8
		{blas.NoTrans, blas.Trans, 192, 1728, 256},   // conv5 weight gradient: dY·colsᵀ
		{blas.Trans, blas.NoTrans, 1728, 256, 192},   // conv5 input gradient: Wᵀ·dY
	}
	defaultThreads := native.Threads()
	b.Cleanup(func() { native.Use(defaultThreads) })
	backend := strings.Fields(native.Use(0).Backend)[0]

	type run struct {
		name    string
		threads int // for Use; 0 runs gonum directly
	}
	runs := []run{{"gonum", 0}}
	if backend != "gonum" {
		runs = append(runs, run{backend + "/threads=1", 1})
		if defaultThreads != 1 {
			runs = append(runs, run{fmt.Sprintf("%s/threads=%d", backend, defaultThreads), defaultThreads})
		}
	}
	for _, r := range runs {
		for _, s := range shapes {
			name := fmt.Sprintf("%s/%c%c_%dx%dx%d", r.name, s.tA, s.tB, s.m, s.n, s.k)
			b.Run(name, func(b *testing.B) {
				var impl blas.Float32 = gonum.Implementation{}
				if r.threads > 0 {
					native.Use(r.threads)
					impl = blas32.Implementation()
				}
				rng := rand.New(rand.NewPCG(1, 2))
				in := newSgemmCase(rng, s.tA, s.tB, s.m, s.n, s.k, 0, false)
				for b.Loop() {
					impl.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, in.a, in.lda, in.b, in.ldb, 0, in.c, in.ldc)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
