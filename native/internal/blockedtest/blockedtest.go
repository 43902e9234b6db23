// Package blockedtest holds the tests that every micro-kernel package of
// package blocked (avx512, avx2) runs: its assembly against the Go
// reference, its transpose, its generated file, and random products.
package blockedtest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/allcnn/allcnn/internal/sgemmtest"
	"github.com/allcnn/allcnn/native/internal/blocked"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// Kernel compares an mr×n assembly micro-kernel with its Go copy on panels
// read packed, row-major and column-major, with and without add. The sums
// are the same products added in the same order, so only fused
// multiply-adds may differ: by an ulp or so of each step.
func Kernel(t *testing.T, name string, mr, n int, asm, ref blocked.MicroKernel) {
	t.Helper()
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
				b := randSlice(rng, k*(n+3))
				bs := 4 * n
				if layout != "packed" {
					bs = 4 * (n + 3) // a row-major matrix's columns
				}
				c0 := randSlice(rng, (mr-1)*(ld+n)+n)
				got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
				asm(k, &a[0], rs, ks, &b[0], bs, &got[0], ld+n, add)
				ref(k, &a[0], rs, ks, &b[0], bs, &want[0], ld+n, add)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*float64(k+1) {
						t.Fatalf("%s k=%d %s add=%v: c[%d] = %v, Go kernel %v", name, k, layout, add, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// Transpose checks a transpose of size×size blocks: every element moved,
// nothing written outside the block.
func Transpose(t *testing.T, name string, size int, tr blocked.Transpose) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	const ss, ds = 21, 37 // floats to a row
	src := randSlice(rng, (size-1)*ss+size)
	dst := make([]float32, (size-1)*ds+size+1)
	tr(&dst[0], 4*ds, &src[0], 4*ss)
	for r := range size {
		for c := range size {
			if got, want := dst[c*ds+r], src[r*ss+c]; got != want {
				t.Fatalf("%s: transposed (%d, %d) = %v, want %v", name, c, r, got, want)
			}
		}
	}
	for i, v := range dst {
		if i%ds >= size && v != 0 {
			t.Fatalf("%s: wrote dst[%d] outside the block", name, i)
		}
	}
}

// Generated checks that the file is what gen.go in the current directory
// writes now (go run gen.go -o), so that an edit to either one alone fails.
func Generated(t *testing.T, file string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out := filepath.Join(t.TempDir(), file)
	if msg, err := exec.Command(goCmd, "run", "gen.go", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		wd, _ := os.Getwd()
		t.Errorf("%s differs from what gen.go writes: run go generate in %s", file, wd)
	}
}

// RandomShapes runs products of random sizes, strides, transposes and
// scales on each of the functions (valid arguments only, alpha ≠ 0), so
// that every mix of full, narrow and edge panels comes up.
func RandomShapes(t *testing.T, fs ...sgemmtest.Func) {
	t.Helper()
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
		for _, f := range fs {
			sgemmtest.Run(t, f, c, rng)
		}
	}
}

// Package describes a micro-kernel package for Suite.
type Package struct {
	Available              bool           // the processor runs the assembly
	Sgemm                  sgemmtest.Func // the package's Implementation.Sgemm
	Go                     sgemmtest.Func // the product on the Go kernels
	Kernels                []KernelPair   // each assembly micro-kernel with its Go copy
	T                      int            // the transposes' block side
	Transpose, TransposeGo blocked.Transpose
}

// KernelPair is an MR×N assembly micro-kernel and its Go copy.
type KernelPair struct {
	Name     string
	MR, N    int
	Asm, Ref blocked.MicroKernel
}

// Suite runs every test of a micro-kernel package: the Sgemm contract
// (internal/sgemmtest) on the assembly where it runs and on the Go kernels
// everywhere, concurrent calls, each kernel and the transpose against their
// Go copies, random products, and the generated file (kernel_amd64.s
// against gen.go).
func Suite(t *testing.T, p Package) {
	contract := func(t *testing.T, f sgemmtest.Func) {
		worst := sgemmtest.Check(t, f, sgemmtest.Cases(sgemmtest.Sizes, false))
		t.Logf("largest error %.3f of the bound", worst)
	}
	t.Run("Sgemm", func(t *testing.T) {
		if !p.Available {
			t.Skip("the processor lacks the instructions: Sgemm is gonum's")
		}
		contract(t, p.Sgemm)
	})
	// The blocking and packing on the Go micro-kernels, on every platform.
	t.Run("SgemmGoKernels", func(t *testing.T) { contract(t, p.Go) })
	t.Run("Concurrent", func(t *testing.T) {
		if !p.Available {
			t.Skip("the processor lacks the instructions")
		}
		// Each call must get its own packing buffers.
		sgemmtest.Concurrent(t, p.Sgemm, 8, 5)
	})
	t.Run("Kernels", func(t *testing.T) {
		if !p.Available {
			t.Skip("the processor lacks the instructions")
		}
		for _, k := range p.Kernels {
			Kernel(t, k.Name, k.MR, k.N, k.Asm, k.Ref)
		}
	})
	t.Run("Transpose", func(t *testing.T) {
		Transpose(t, "Go", p.T, p.TransposeGo)
		if p.Available {
			Transpose(t, "assembly", p.T, p.Transpose)
		}
	})
	t.Run("RandomShapes", func(t *testing.T) {
		fs := []sgemmtest.Func{p.Go}
		if p.Available {
			fs = append(fs, p.Sgemm)
		}
		RandomShapes(t, fs...)
	})
	t.Run("Generated", func(t *testing.T) { Generated(t, "kernel_amd64.s") })
}
