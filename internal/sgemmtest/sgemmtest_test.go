package sgemmtest

import (
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The contract holds for gonum's Sgemm, the reference the project started
// from, on every case.
func TestGonum(t *testing.T) {
	worst := Check(t, gonum.Implementation{}.Sgemm, Cases(append(Degenerate, Sizes...), true))
	t.Logf("gonum: largest error %.3f of the bound", worst)
	Concurrent(t, gonum.Implementation{}.Sgemm, 4, 3)
}

// fatal records a failure instead of stopping the test.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Helper() {}
func (f *fatal) Fatalf(format string, args ...any) {
	if f.msg == "" {
		f.msg = format
	}
}

// The contract fails products that break it, each in its own way.
func TestCatches(t *testing.T) {
	ref := gonum.Implementation{}.Sgemm
	c := Case{blas.NoTrans, blas.Trans, 5, 7, 9, 1, 0.5, 3}
	for _, tc := range []struct {
		name string
		f    Func
		want string
	}{
		{"off by 1e-4", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c[ldc+1] += 1e-4
		}, "of the bound"},
		{"writes the padding", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c[n] = 0
		}, "outside"},
		{"reads A's padding", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c[0] += a[k] // NaN
		}, "of the bound"},
		{"changes B", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			b[0]++
		}, "changed"},
		{"ignores beta", func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc)
		}, "of the bound"},
	} {
		rec := &fatal{TB: t}
		Check(rec, tc.f, []Case{c})
		if !strings.Contains(rec.msg, strings.Fields(tc.want)[0]) {
			t.Errorf("%s: the contract says %q", tc.name, rec.msg)
		}
	}
}
