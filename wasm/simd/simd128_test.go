//go:build !wasm

package simd_test

import (
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"gonum.org/v1/gonum/blas"

	"github.com/allcnn/allcnn/internal/sgemmtest"
)

//go:embed simd128.wasm
var kernels []byte

// memoryModule is a WebAssembly module that only exports a memory of 256
// pages (16 MiB) as "memory": here it stands for the Go instance whose
// memory the kernels import as ("go", "memory").
var memoryModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x05, 0x04, 0x01, 0x00, 0x80, 0x02, // memory section: one memory, min 256 pages, no max
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory" = memory 0
}

// engine is the kernels instantiated in one of wazero's engines.
type engine struct {
	ctx         context.Context
	mem         api.Memory
	sgemm, work api.Function
}

func newEngine(t *testing.T, name string) *engine {
	t.Helper()
	cfg := wazero.NewRuntimeConfigInterpreter()
	if name == "compiler" {
		if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
			t.Skipf("wazero has no compiler for %s", runtime.GOARCH)
		}
		cfg = wazero.NewRuntimeConfigCompiler()
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { rt.Close(ctx) })
	g, err := rt.InstantiateWithConfig(ctx, memoryModule, wazero.NewModuleConfig().WithName("go"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := rt.InstantiateWithConfig(ctx, kernels, wazero.NewModuleConfig().WithName("allcnn_simd"))
	if err != nil {
		t.Fatal(err)
	}
	return &engine{ctx: ctx, mem: g.Memory(), sgemm: k.ExportedFunction("sgemm"), work: k.ExportedFunction("sgemm_work")}
}

// product is one sgemm call: C = alpha·op(A)·op(B) + beta·C with leading
// dimensions lda, ldb, ldc.
type product struct {
	ta, tb                 bool
	m, n, k, lda, ldb, ldc int
	alpha, beta            float32
}

func (p product) String() string {
	tr := map[bool]string{false: "N", true: "T"}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g", tr[p.ta], tr[p.tb], p.m, p.n, p.k, p.lda, p.ldb, p.ldc, p.alpha, p.beta)
}

// shape returns the rows and columns of a stored matrix: op(X) is r×c, X
// itself c×r when transposed.
func shape(trans bool, r, c int) (int, int) {
	if trans {
		return c, r
	}
	return r, c
}

// sentinel fills the padding of C (columns n..ldc) and guards after A, B
// and C; the kernels must leave it alone.
const sentinel = float32(-12345.5)

// run computes p in the engine on random matrices and returns the largest
// error relative to the error bound of a float32 dot product of length k,
// (k+2)·2⁻²⁴·(|alpha|·Σ|a||b| + |beta·c|).
func (e *engine) run(t *testing.T, p product, rng *rand.Rand) float64 {
	t.Helper()
	ar, _ := shape(p.ta, p.m, p.k)
	br, _ := shape(p.tb, p.k, p.n)
	a, b, c := randoms(rng, ar*p.lda), randoms(rng, br*p.ldb), randoms(rng, p.m*p.ldc)
	for i := range p.m {
		for j := p.n; j < p.ldc; j++ {
			c[i*p.ldc+j] = sentinel
		}
	}
	if p.beta == 0 {
		c[0] = float32(math.NaN()) // beta = 0: C is not read
	}
	// Memory: A, B and C, each followed by a guard of sentinels, and the
	// scratch at the very end, so that a write past it traps.
	const guard = 64
	pa := uint32(1024)
	pb := pa + uint32(4*(len(a)+guard))
	pc := pb + uint32(4*(len(b)+guard))
	size := uint32(e.call(t, e.work)[0])
	work := e.mem.Size() - size
	if pc+uint32(4*(len(c)+guard)) > work {
		t.Fatalf("%v: the matrices do not fit in memory", p)
	}
	for _, x := range []struct {
		p uint32
		m []float32
	}{{pa, a}, {pb, b}, {pc, c}} {
		e.write(t, x.p, x.m)
		e.write(t, x.p+uint32(4*len(x.m)), fill(guard, sentinel))
	}
	bit := map[bool]uint64{false: 0, true: 1}
	e.call(t, e.sgemm, bit[p.ta], bit[p.tb], uint64(p.m), uint64(p.n), uint64(p.k),
		api.EncodeF32(p.alpha), uint64(pa), uint64(p.lda), uint64(pb), uint64(p.ldb),
		api.EncodeF32(p.beta), uint64(pc), uint64(p.ldc), uint64(work))
	for _, x := range []struct {
		name string
		p    uint32
		want []float32
	}{{"A", pa, a}, {"B", pb, b}} {
		want := append(x.want[:len(x.want):len(x.want)], fill(guard, sentinel)...)
		for i, v := range e.read(t, x.p, len(want)) {
			if v != want[i] {
				t.Fatalf("%v: %s or its guard changed at float %d: %g, was %g", p, x.name, i, v, want[i])
			}
		}
	}
	got := e.read(t, pc, len(c)+guard)
	for i, v := range got[len(c):] {
		if v != sentinel {
			t.Fatalf("%v: wrote %g past C (guard float %d)", p, v, i)
		}
	}
	got = got[:len(c)]
	var worst float64
	for i := range p.m {
		for j := range p.ldc {
			v := got[i*p.ldc+j]
			if j >= p.n {
				if v != sentinel {
					t.Fatalf("%v: wrote %g in the padding of C at (%d, %d)", p, v, i, j)
				}
				continue
			}
			var dot, abs float64
			for l := range p.k {
				x, y := at(a, p.ta, p.lda, i, l), at(b, p.tb, p.ldb, l, j)
				dot += x * y
				abs += math.Abs(x * y)
			}
			want := float64(p.alpha) * dot
			bound := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				want += float64(p.beta) * float64(c[i*p.ldc+j])
				bound += math.Abs(float64(p.beta) * float64(c[i*p.ldc+j]))
			}
			bound = max(bound*float64(p.k+2)*0x1p-24, 0x1p-126)
			err := math.Abs(float64(v)-want) / bound
			if !(err <= 1) {
				t.Fatalf("%v: C[%d][%d] = %g, want %g (error %.3g bounds)", p, i, j, v, want, err)
			}
			worst = max(worst, err)
		}
	}
	return worst
}

// at is op(X)(i, j) for X with leading dimension ld.
func at(x []float32, trans bool, ld, i, j int) float64 {
	if trans {
		i, j = j, i
	}
	return float64(x[i*ld+j])
}

func randoms(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func fill(n int, v float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = v
	}
	return x
}

func (e *engine) call(t *testing.T, f api.Function, args ...uint64) []uint64 {
	t.Helper()
	r, err := f.Call(e.ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *engine) write(t *testing.T, p uint32, x []float32) {
	t.Helper()
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if !e.mem.Write(p, b) {
		t.Fatalf("write of %d bytes at %#x outside memory", len(b), p)
	}
}

func (e *engine) read(t *testing.T, p uint32, n int) []float32 {
	t.Helper()
	b, ok := e.mem.Read(p, uint32(4*n))
	if !ok {
		t.Fatalf("read of %d floats at %#x outside memory", n, p)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// products lists the products checked: every size from 1 to 17 and some
// up to 70 (each tile edge, 4×8 tiles), all four transposes, leading
// dimensions minimal and padded, three alphas and betas; under the
// compiler also sizes that cross the kernels' blocks (KC = 256, MC = 128,
// NC = 512).
func products(engine string, rng *rand.Rand) []product {
	var ps []product
	sizes := []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 33, 64, 70}
	alphas := []float32{1, 0.5, -2}
	betas := []float32{0, 1, 0.25}
	pick := func(xs []int) int { return xs[rng.IntN(len(xs))] }
	add := func(m, n, k int) {
		for tr := range 4 {
			p := product{ta: tr&1 != 0, tb: tr&2 != 0, m: m, n: n, k: k,
				alpha: alphas[rng.IntN(3)], beta: betas[rng.IntN(3)]}
			pad := rng.IntN(2) * (1 + rng.IntN(5))
			_, ac := shape(p.ta, m, k)
			_, bc := shape(p.tb, k, n)
			p.lda, p.ldb, p.ldc = ac+pad, bc+pad, n+pad
			ps = append(ps, p)
		}
	}
	for m := 1; m <= 17; m++ {
		for n := 1; n <= 17; n++ {
			add(m, n, pick(sizes))
		}
	}
	for range 60 {
		add(pick(sizes), pick(sizes), pick(sizes))
	}
	if engine == "compiler" {
		add(130, 520, 300) // crosses every block
		add(129, 9, 513)
		add(5, 1030, 7)
		add(192, 36, 1728) // All-CNN-C's conv7, batch 1
	}
	return ps
}

// TestSgemm checks the kernels' sgemm against a float64 reference under
// both of wazero's engines.
func TestSgemm(t *testing.T) {
	for _, name := range []string{"compiler", "interpreter"} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, name)
			rng := rand.New(rand.NewPCG(1, 2))
			ps := products(name, rng)
			var worst float64
			for _, p := range ps {
				worst = max(worst, e.run(t, p, rng))
			}
			t.Logf("%d products: max error %.3f of the float32 bound (k+2)·2⁻²⁴·Σ|terms|", len(ps), worst)
		})
	}
}

// TestContract holds the kernels to the project's Sgemm contract
// (internal/sgemmtest), which every backend meets: all of its cases under
// the compiler, a sample of 300 under the interpreter. TestSgemm adds the
// guards around the operands in the instance's memory.
func TestContract(t *testing.T) {
	for _, name := range []string{"compiler", "interpreter"} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, name)
			cs := sgemmtest.Cases(sgemmtest.Sizes, false)
			if name == "interpreter" {
				cs = sgemmtest.Sample(cs, 300, 1)
			}
			worst := sgemmtest.Check(t, e.sgemmFunc(t), cs)
			t.Logf("%d cases: largest error %.3f of the bound", len(cs), worst)
		})
	}
}

// sgemmFunc is the kernels' sgemm as a sgemmtest.Func: the operands are
// copied into the instance's memory, and C back out.
func (e *engine) sgemmFunc(t *testing.T) sgemmtest.Func {
	return func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if m == 0 || n == 0 {
			return
		}
		pa := uint32(1024)
		pb := pa + uint32(4*len(a))
		pc := pb + uint32(4*len(b))
		work := e.mem.Size() - uint32(e.call(t, e.work)[0])
		if pc+uint32(4*len(c)) > work {
			t.Fatalf("m=%d n=%d k=%d: the matrices do not fit in memory", m, n, k)
		}
		e.write(t, pa, a)
		e.write(t, pb, b)
		e.write(t, pc, c)
		bit := map[bool]uint64{false: 0, true: 1}
		e.call(t, e.sgemm, bit[tA != blas.NoTrans], bit[tB != blas.NoTrans], uint64(m), uint64(n), uint64(k),
			api.EncodeF32(alpha), uint64(pa), uint64(lda), uint64(pb), uint64(ldb),
			api.EncodeF32(beta), uint64(pc), uint64(ldc), uint64(work))
		copy(a, e.read(t, pa, len(a)))
		copy(b, e.read(t, pb, len(b)))
		copy(c, e.read(t, pc, len(c)))
	}
}
