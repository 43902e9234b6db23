// Package sgemmtest is the one contract that every single-precision matrix
// product of the project is held to: the Sgemm that native.Use installs
// (OpenBLAS, the AVX-512 kernels or gonum), the AVX-512 package on its own
// (assembly and Go micro-kernels) and the SIMD128 WebAssembly kernels. Each
// backend's test runs the same cases through a Func.
//
// A case passes when every entry of the m×n result is within the error
// bound of a float32 dot product of length k, (k+2)·2⁻²⁴·(|alpha|·Σ|a·b| +
// |beta·c|), of a float64 reference; when A and B are unchanged; when
// nothing outside the m×n result of C is written (padding between rows
// holds a sentinel); when padding of A and B, which holds NaN, is never
// read; and, with beta = 0, when C's old values (NaN among them) are never
// read.
//
// It is imported by tests only.
package sgemmtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// Func is a matrix product with the signature of blas.Float32's Sgemm:
// C ← alpha·op(A)·op(B) + beta·C, row-major.
type Func func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// Case is one product of the contract: op(A) is M×K, op(B) K×N, and each
// matrix's rows are Pad floats longer than their length.
type Case struct {
	TA, TB      blas.Transpose
	M, N, K     int
	Alpha, Beta float32
	Pad         int
}

func (c Case) String() string {
	return fmt.Sprintf("tA=%c tB=%c m=%d n=%d k=%d alpha=%g beta=%g pad=%d", c.TA, c.TB, c.M, c.N, c.K, c.Alpha, c.Beta, c.Pad)
}

// Sizes are the shapes (m, n, k) of the contract: the smallest ones, sizes
// that end inside and across the register and cache blocks of the AVX-512
// and SIMD128 kernels, products large enough for OpenBLAS to use threads,
// and All-CNN-C's convolutions at batch 1 (conv7: 192×36×1728).
var Sizes = [][3]int{
	{1, 1, 1}, {1, 7, 1}, {7, 1, 5}, {1, 1, 33}, {2, 3, 4}, {5, 7, 3},
	{1, 33, 2}, {13, 1, 5}, {12, 32, 1}, {12, 32, 7}, {11, 31, 3}, {13, 33, 9},
	{17, 13, 11}, {31, 33, 35}, {64, 64, 64}, {65, 63, 67}, {24, 16, 8}, {25, 20, 30},
	{12, 48, 3}, {13, 50, 17}, {30, 63, 9}, {36, 8, 40}, {96, 100, 27},
	{24, 64, 256}, {25, 65, 257}, {130, 257, 75}, {192, 64, 288}, {97, 100, 513},
	{5, 2100, 20}, {7, 1030, 5}, {200, 40, 600}, {192, 36, 1728},
}

// Degenerate are shapes with an empty dimension: nothing is computed, or
// (k = 0) C becomes beta·C.
var Degenerate = [][3]int{{0, 0, 0}, {0, 3, 2}, {3, 0, 2}, {2, 3, 0}, {1, 1, 0}}

// Scales are the (alpha, beta) pairs of the contract.
var Scales = [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.5}, {2, 0}, {0, 0.5}, {0, 1}, {0, 0}, {-0.5, 0.25}}

// Transposes are the two operand orders; blas.ConjTrans, which is Trans for
// real matrices, is added by Cases when asked.
var Transposes = []blas.Transpose{blas.NoTrans, blas.Trans}

// Cases is every shape of sizes with every pair of transposes (ConjTrans
// too if conj), the scales and the paddings 0 and 5: every scale of Scales
// for shapes up to a million multiply-adds, the first and the last (plain,
// and both scaled) above, so that the float64 reference stays quick. With
// -short, shapes above a million multiply-adds are left out.
func Cases(sizes [][3]int, conj bool) []Case {
	tr := Transposes
	if conj {
		tr = append(tr[:len(tr):len(tr)], blas.ConjTrans)
	}
	var cs []Case
	for _, s := range sizes {
		if testing.Short() && s[0]*s[1]*s[2] > 1_000_000 {
			continue // -short (emulated arm64 in CI): the small and middle shapes
		}
		scales := Scales
		if s[0]*s[1]*s[2] > 1_000_000 {
			scales = [][2]float32{Scales[0], Scales[len(Scales)-1]}
		}
		for _, tA := range tr {
			for _, tB := range tr {
				for _, sc := range scales {
					for _, pad := range []int{0, 5} {
						cs = append(cs, Case{tA, tB, s[0], s[1], s[2], sc[0], sc[1], pad})
					}
				}
			}
		}
	}
	return cs
}

// Sample is n cases of cs drawn at random (all of them if n ≥ len(cs)),
// for slow engines.
func Sample(cs []Case, n int, seed uint64) []Case {
	if n >= len(cs) {
		return cs
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]Case, n)
	for i, j := range rng.Perm(len(cs))[:n] {
		out[i] = cs[j]
	}
	return out
}

// sentinel fills C's padding, which must never be written.
const sentinel = float32(7.25)

// Check runs every case of cs on f, failing t at the first that breaks the
// contract, and returns the largest error as a fraction of its bound.
func Check(t testing.TB, f Func, cs []Case) (worst float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cs {
		worst = max(worst, Run(t, f, c, rng))
	}
	return worst
}

// Run runs one case on f with operands drawn from rng and checks it (see
// the package comment); it returns the largest error as a fraction of its
// bound.
func Run(t testing.TB, f Func, c Case, rng *rand.Rand) float64 {
	t.Helper()
	rowsA, colsA := c.M, c.K
	if c.TA != blas.NoTrans {
		rowsA, colsA = c.K, c.M
	}
	rowsB, colsB := c.K, c.N
	if c.TB != blas.NoTrans {
		rowsB, colsB = c.N, c.K
	}
	a, lda := Matrix(rng, rowsA, colsA, c.Pad, float32(math.NaN()), false)
	b, ldb := Matrix(rng, rowsB, colsB, c.Pad, float32(math.NaN()), false)
	old, ldc := Matrix(rng, c.M, c.N, c.Pad, sentinel, c.Beta == 0)
	a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
	got := append([]float32(nil), old...)
	f(c.TA, c.TB, c.M, c.N, c.K, c.Alpha, a, lda, b, ldb, c.Beta, got, ldc)

	for _, x := range []struct {
		name      string
		got, want []float32
	}{{"A", a, a0}, {"B", b, b0}} {
		for i := range x.want {
			if math.Float32bits(x.got[i]) != math.Float32bits(x.want[i]) {
				t.Fatalf("%v: %s changed at %d: %v, was %v", c, x.name, i, x.got[i], x.want[i])
			}
		}
	}
	at := func(x []float32, trans bool, ld, i, j int) float64 {
		if trans {
			i, j = j, i
		}
		return float64(x[i*ld+j])
	}
	var worst float64
	for i := range got {
		row, col := i/ldc, i%ldc
		if col >= c.N {
			if math.Float32bits(got[i]) != math.Float32bits(old[i]) {
				t.Fatalf("%v: c[%d] = %v outside the %d×%d result, want it untouched (%v)", c, i, got[i], c.M, c.N, old[i])
			}
			continue
		}
		var dot, abs float64
		for l := range c.K {
			p := at(a, c.TA != blas.NoTrans, lda, row, l) * at(b, c.TB != blas.NoTrans, ldb, l, col)
			dot += p
			abs += math.Abs(p)
		}
		want := float64(c.Alpha) * dot
		bound := math.Abs(float64(c.Alpha)) * abs
		if c.Beta != 0 {
			want += float64(c.Beta) * float64(old[i])
			bound += math.Abs(float64(c.Beta) * float64(old[i]))
		}
		bound = max(bound*float64(c.K+2)*0x1p-24, 0x1p-126)
		e := math.Abs(float64(got[i])-want) / bound
		if !(e <= 1) { // NaN fails too
			t.Fatalf("%v: c[%d][%d] = %v, want %v (error %.3g of the bound)", c, row, col, got[i], want, e)
		}
		worst = max(worst, e)
	}
	return worst
}

// Matrix returns a rows×cols row-major matrix with leading dimension
// max(1, cols)+pad and the shortest slice gonum accepts, filled with values
// in [-1, 1) (or NaN if nan); padding holds fill.
func Matrix(rng *rand.Rand, rows, cols, pad int, fill float32, nan bool) ([]float32, int) {
	ld := max(1, cols) + pad
	if rows == 0 {
		return []float32{}, ld
	}
	x := make([]float32, (rows-1)*ld+cols)
	for i := range x {
		switch {
		case i%ld >= cols:
			x[i] = fill
		case nan:
			x[i] = float32(math.NaN())
		default:
			x[i] = 2*rng.Float32() - 1
		}
	}
	return x, ld
}

// Concurrent runs a product from goroutines goroutines at once, calls times
// each, as batch-level parallelism does: each call must get its own
// buffers.
func Concurrent(t testing.TB, f Func, goroutines, calls int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &recorder{}
			defer func() { // also after Fatalf's Goexit
				if rec.msg != "" {
					errs <- rec.msg
				}
			}()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range calls {
				Run(rec, f, Case{blas.NoTrans, blas.Trans, 40 + g, 100, 288, 1, 1, 1}, rng)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// recorder is a testing.TB for other goroutines: Fatalf records the message
// and stops the goroutine.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
