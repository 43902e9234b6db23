package wasm_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	wapi "github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	"github.com/allcnn/allcnn/native"
)

// The conformance suite (DESIGN.md, "One conformance suite, run
// everywhere"): every zoo architecture, at seeded random weights and a
// seeded random input, through the wasip1 build under wazero's compiler and
// interpreter, each with the SIMD128 kernels of package wasm/simd bound to
// it (variant "simd128") and without them (variant "scalar": gonum's pure
// Go, the fallback of hosts without SIMD128), against the same package allcnn
// calls run natively. Compared: the
// prepared input of an image (crop, resize, normalisation), the logits,
// the gradient, deconvnet and guided maps of the top class, a guided map of
// the strongest unit of a middle layer, and, for All-CNN-C, the switched
// net of Figs. 4–5. Two variants join the zoo: All-CNN-C with batch
// normalisation, and Model C with p-norm subsampling (Eq. 1) for its
// max-pools. Each comparison logs its largest difference and fails
// past tol·max(1, max |native|).
//
// The nets are narrowed (width) so that the suite stays short on two
// cores: in wazero's compiler the scalar guest runs some 25 times slower
// than native Go (scalar wasm GEMM), in its interpreter some 10 times
// slower again. The interpreter therefore runs a subset that still holds every
// layer type and geometry — Model C (max-pooling), All-CNN-C (strided
// convolutions and the switched net), the Large All-CNN (2×2 kernels, leaky
// rectifiers) and the ImageNet net (11×11 stride 4, 1000 classes) — at
// half the width or less. With -short, the interpreter is skipped.
const tol = 1e-4

// width is the width multiplier an architecture runs at under an engine:
// under the compiler 1/8 for the CIFAR nets (32×32 input), 1/32 for the
// Large All-CNN (126×126, sixteen convolutions) and 1/16 for the ImageNet
// net (224×224; its 1000-class classifier stays); under the interpreter
// 1/16, 1/64 and 1/32, and 0 (skipped) for the nets outside its subset.
func width(name, engine string) float64 {
	w := 1.0 / 8
	switch name {
	case "large-all-cnn":
		w = 1.0 / 32
	case "imagenet-all-cnn":
		w = 1.0 / 16
	}
	if engine == "interpreter" {
		switch name {
		case "model-c", "all-cnn-c", "large-all-cnn", "imagenet-all-cnn":
			return w / 2
		}
		return 0
	}
	return w
}

var (
	tmpDir string

	buildOnce sync.Once
	wasmBytes []byte
	buildErr  error

	guestsMu sync.Mutex
	guests   = map[variant]*guest{} // closed by TestMain
)

// variant is how the guest runs: under wazero's "compiler" or
// "interpreter", with the SIMD128 kernels (simd) or without.
type variant struct {
	engine string
	simd   bool
}

func (v variant) String() string {
	if v.simd {
		return v.engine + "/simd128"
	}
	return v.engine + "/scalar"
}

// variants are all four, the compiler's first.
var variants = []variant{{"compiler", true}, {"compiler", false}, {"interpreter", true}, {"interpreter", false}}

// kernels is the SIMD128 module, as committed (make test checks that it is
// what wat2wasm makes of its source).
const kernels = "simd/simd128.wasm"

func TestMain(m *testing.M) {
	// The native side multiplies as the native programs do: on OpenBLAS and
	// the AVX-512 Sgemm where the build and the processor have them.
	fmt.Fprintf(os.Stderr, "native BLAS: %v\n", native.Setup(0))
	dir, err := os.MkdirTemp("", "allcnn-wasm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpDir = dir
	code := m.Run()
	for _, g := range guests {
		g.rt.Close(context.Background())
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// module builds the wasip1 reactor once per test binary with the go
// command running the test (go test puts its GOROOT/bin first in PATH).
func module(t *testing.T) []byte {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out := filepath.Join(tmpDir, "allcnn.wasm")
		cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-buildvcs=false", "-o", out, "./wasip1")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		start := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
			return
		}
		wasmBytes, buildErr = os.ReadFile(out)
		t.Logf("built the wasip1 module (%d bytes) in %v", len(wasmBytes), time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return wasmBytes
}

// cacheDir is where wazero keeps compiled code between test runs, like
// go's build cache (it saves about 1.7 s of compilation a run); wazero keys
// it by the module's hash and its own version. Each build of the module
// adds an entry of some 16 MB, so all but the newest few are removed.
func cacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "allcnn", "wazero")
	subs, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	type entry struct {
		path string
		mod  time.Time
	}
	var entries []entry
	for _, p := range subs {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			entries = append(entries, entry{p, fi.ModTime()})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return b.mod.Compare(a.mod) })
	for _, e := range entries[min(len(entries), 4):] {
		os.Remove(e.path)
	}
	return dir
}

// guest is one instance of the wasip1 module.
type guest struct {
	ctx   context.Context
	rt    wazero.Runtime
	mod   wapi.Module
	worst float64 // the largest difference compare has seen, relative to max(1, max |native|)
}

// instance returns the instance for a variant, starting it on first use.
func instance(t *testing.T, v variant) *guest {
	t.Helper()
	guestsMu.Lock()
	defer guestsMu.Unlock()
	if g, ok := guests[v]; ok {
		return g
	}
	engine := v.engine
	var cfg wazero.RuntimeConfig
	switch engine {
	case "compiler":
		if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
			t.Skipf("wazero has no compiler for %s", runtime.GOARCH)
		}
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg = wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache)
	case "interpreter":
		if testing.Short() {
			t.Skip("the interpreter is slow; skipped with -short")
		}
		cfg = wazero.NewRuntimeConfigInterpreter()
	}
	bin := module(t)
	ctx := context.Background()
	start := time.Now()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	bind := simdHost(t, ctx, rt)
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	compiledIn := time.Since(start)
	// A reactor: no _start; _initialize runs the Go runtime's init. The
	// kernels import its memory as ("go", "memory").
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("go").
		WithStartFunctions().WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithSysNanotime().WithSysWalltime())
	if err != nil {
		t.Fatal(err)
	}
	if v.simd {
		b, err := os.ReadFile(kernels)
		if err != nil {
			t.Fatal(err)
		}
		k, err := rt.InstantiateWithConfig(ctx, b, wazero.NewModuleConfig().WithName("simd128"))
		if err != nil {
			t.Fatal(err)
		}
		bind(k)
	}
	g := &guest{ctx: ctx, rt: rt, mod: mod}
	g.call(t, "_initialize")
	t.Logf("%v: compiled in %v, instantiated in %v", v, compiledIn.Round(time.Millisecond), (time.Since(start) - compiledIn).Round(time.Millisecond))
	if v := g.call(t, "abi_version"); v != 1 {
		t.Fatalf("abi_version = %d", v)
	}
	if on := g.call(t, "simd"); on != map[bool]int32{false: 0, true: 1}[v.simd] {
		t.Fatalf("%v: the guest says simd() = %d", v, on)
	}
	guests[v] = g
	return g
}

// simdHost instantiates the host module "allcnn_simd" that the guest
// imports (package wasm/simd): its functions forward to the exports of the
// kernels' instance given to bind, and until then say that there are no
// kernels (sgemm_work returns 0, Go's fallback). The kernels import the
// guest's memory, so they are instantiated after the guest and bound before
// its _initialize, as js/instance.js does in browsers.
func simdHost(t *testing.T, ctx context.Context, rt wazero.Runtime) (bind func(kernels wapi.Module)) {
	t.Helper()
	var work, sgemm wapi.Function // nil until bound
	sgemmWork := func(ctx context.Context, stack []uint64) {
		if work == nil {
			stack[0] = 0
			return
		}
		if err := work.CallWithStack(ctx, stack); err != nil {
			panic(err)
		}
	}
	sgemmCall := func(ctx context.Context, stack []uint64) {
		if err := sgemm.CallWithStack(ctx, stack); err != nil {
			panic(err)
		}
	}
	i32, f32 := wapi.ValueTypeI32, wapi.ValueTypeF32
	_, err := rt.NewHostModuleBuilder("allcnn_simd").
		NewFunctionBuilder().WithGoFunction(wapi.GoFunc(sgemmWork), nil, []wapi.ValueType{i32}).Export("sgemm_work").
		NewFunctionBuilder().WithGoFunction(wapi.GoFunc(sgemmCall),
		// ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work
		[]wapi.ValueType{i32, i32, i32, i32, i32, f32, i32, i32, i32, i32, f32, i32, i32, i32}, nil).Export("sgemm").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return func(k wapi.Module) {
		work, sgemm = k.ExportedFunction("sgemm_work"), k.ExportedFunction("sgemm")
	}
}

// call calls an export and returns its first result as an int32 (0 if
// none). A trap fails the test.
func (g *guest) call(t *testing.T, name string, args ...uint64) int32 {
	t.Helper()
	f := g.mod.ExportedFunction(name)
	if f == nil {
		t.Fatalf("no export %q", name)
	}
	res, err := f.Call(g.ctx, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(res) == 0 {
		return 0
	}
	return wapi.DecodeI32(res[0])
}

// i32 encodes an argument.
func i32(v int) uint64 { return wapi.EncodeI32(int32(v)) }

// The memory view is invalid once the guest grows its memory, so every
// access below asks the module for it again.

func (g *guest) alloc(t *testing.T, n int) uint32 {
	t.Helper()
	p := uint32(g.call(t, "alloc", i32(n)))
	if p == 0 {
		t.Fatalf("alloc(%d): %s", n, g.lastError(t))
	}
	return p
}

func (g *guest) free(t *testing.T, ps ...uint32) {
	t.Helper()
	for _, p := range ps {
		if g.call(t, "free", uint64(p)) != 0 {
			t.Fatalf("free: %s", g.lastError(t))
		}
	}
}

// put copies b into a new block.
func (g *guest) put(t *testing.T, b []byte) uint32 {
	t.Helper()
	p := g.alloc(t, max(1, len(b)))
	if !g.mod.Memory().Write(p, b) {
		t.Fatalf("write %d bytes at %#x", len(b), p)
	}
	return p
}

// get copies n bytes out of memory.
func (g *guest) get(t *testing.T, p uint32, n int) []byte {
	t.Helper()
	b, ok := g.mod.Memory().Read(p, uint32(n))
	if !ok {
		t.Fatalf("read %d bytes at %#x", n, p)
	}
	return append([]byte(nil), b...)
}

func (g *guest) putFloats(t *testing.T, x []float32) uint32 {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return g.put(t, b)
}

func (g *guest) getFloats(t *testing.T, p uint32, n int) []float32 {
	b := g.get(t, p, 4*n)
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

func (g *guest) lastError(t *testing.T) string {
	t.Helper()
	n := g.call(t, "last_error", 0, 0)
	if n <= 0 {
		return ""
	}
	p := g.alloc(t, int(n))
	defer g.free(t, p)
	g.call(t, "last_error", uint64(p), i32(int(n)))
	return string(g.get(t, p, int(n)))
}

// load loads a weight file and returns its handle, or 0 and the error.
func (g *guest) load(t *testing.T, b []byte) (int32, string) {
	t.Helper()
	p := g.put(t, b)
	defer g.free(t, p)
	h := g.call(t, "load", uint64(p), i32(len(b)))
	if h == 0 {
		return 0, g.lastError(t)
	}
	return h, ""
}

// target is a resolved saliency target: unit, y, x.
type target [3]int

// saliency computes a map in the guest from a prepared input.
func (g *guest) saliency(t *testing.T, h int32, x []float32, opts string) ([]float32, target) {
	t.Helper()
	xp, op, out, tp := g.putFloats(t, x), g.put(t, []byte(opts)), g.alloc(t, 4*len(x)), g.alloc(t, 12)
	defer g.free(t, xp, op, out, tp)
	if g.call(t, "saliency", uint64(h), uint64(xp), uint64(op), i32(len(opts)), uint64(out), uint64(tp)) != 0 {
		t.Fatalf("saliency %q: %s", opts, g.lastError(t))
	}
	var tg target
	for i, b := 0, g.get(t, tp, 12); i < 3; i++ {
		tg[i] = int(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return g.getFloats(t, out, len(x)), tg
}

// maxDiff is the largest |a−b| and the largest |want|.
func maxDiff(got, want []float32) (diff, scale float64) {
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return diff, scale
}

// compare logs the largest difference and fails past the tolerance.
func (g *guest) compare(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	diff, scale := maxDiff(got, want)
	g.worst = max(g.worst, diff/max(1, scale))
	t.Logf("%-34s max |Δ| %.2e  (max |v| %.3g)", what, diff, scale)
	if diff > tol*max(1, scale) || math.IsNaN(diff) {
		t.Errorf("%s: max |Δ| %g over %g·max(1, %g)", what, diff, tol, scale)
	}
}

// modelFile makes a seeded weight file of a zoo architecture, with
// per-channel normalisation.
func modelFile(t *testing.T, name string, w float64, seed uint64) []byte {
	t.Helper()
	s, err := kernel.ZooSpec(name, 0, w)
	if err != nil {
		t.Fatal(err)
	}
	n := seededNet(t, *s, seed)
	pre := channelNorm
	// The placements their trainer writes: each build's path from an
	// image to the input is compared.
	switch name {
	case "large-all-cnn":
		pre.Place, pre.Size = preprocess.PlaceCanvas, [2]int{32, 32}
	case "imagenet-all-cnn":
		pre.Place, pre.Size = preprocess.PlaceCrop, [2]int{256, 256}
	}
	return netFile(t, n, pre, map[string]string{"seed": fmt.Sprint(seed)})
}

// channelNorm is the per-channel normalisation of the suite's files.
var channelNorm = preprocess.Params{Kind: preprocess.Channel, Mean: []float32{0.49, 0.48, 0.45}, Std: []float32{0.25, 0.24, 0.26}}

// seededNet builds s with He initialisation from seed.
func seededNet(t *testing.T, s kernel.Spec, seed uint64) *kernel.Net {
	t.Helper()
	n, err := kernel.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init("he", seed); err != nil {
		t.Fatal(err)
	}
	return n
}

// netFile is the weight file of n, with classes "class 0", "class 1", ….
func netFile(t *testing.T, n *kernel.Net, pre preprocess.Params, meta map[string]string) []byte {
	t.Helper()
	classes := make([]string, n.Classes())
	for i := range classes {
		classes[i] = fmt.Sprintf("class %d", i)
	}
	b, err := format.Marshal(format.FromNet(n, classes, pre, format.F32, meta))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func randomFloats(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 8))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestConformance(t *testing.T) {
	for _, v := range variants {
		t.Run(v.String(), func(t *testing.T) {
			g := instance(t, v)
			for i, name := range kernel.ZooNames() {
				w := width(name, v.engine)
				if w == 0 {
					continue
				}
				t.Run(name, func(t *testing.T) {
					start := time.Now()
					conform(t, g, name, w, uint64(i+1))
					t.Logf("%s (width %v) under %v: %v", name, w, v, time.Since(start).Round(time.Millisecond))
				})
			}
			// A net with batch normalisation (as a training checkpoint
			// holds it), in evaluation mode.
			if w := width("all-cnn-c", v.engine); w > 0 {
				t.Run("all-cnn-c-batchnorm", func(t *testing.T) {
					conformFile(t, g, "all-cnn-c", batchNormFile(t, w, 99), 99, nil)
				})
			}
			// Model C with p-norm subsampling in place of max-pooling.
			if w := width("model-c", v.engine); w > 0 {
				t.Run("model-c-pnorm", func(t *testing.T) {
					conformFile(t, g, "model-c-pnorm", pnormFile(t, w, 98), 98, nil)
				})
			}
			t.Logf("%v: largest difference %.2e of max(1, max |native|)", v, g.worst)
		})
	}
}

// batchNormFile is modelFile for All-CNN-C with batch normalisation after
// its convolutions, with random scales, shifts and running statistics.
func batchNormFile(t *testing.T, w float64, seed uint64) []byte {
	t.Helper()
	s, err := kernel.ZooSpec("all-cnn-c", 0, w)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := kernel.WithBatchNorm(*s)
	if err != nil {
		t.Fatal(err)
	}
	n := seededNet(t, bs, seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, l := range n.Layers {
		if bn, ok := l.(*kernel.BatchNorm); ok {
			for i := range bn.Weight.Data {
				bn.Weight.Data[i] = float32(0.5 + rng.Float64())
				bn.Bias.Data[i] = float32(0.1 * rng.NormFloat64())
				bn.Mean.Data[i] = float32(0.2 * rng.NormFloat64())
				bn.Var.Data[i] = float32(0.5 + rng.Float64())
			}
		}
	}
	return netFile(t, n, channelNorm, nil)
}

// pnormFile is modelFile for Model C with p-norm subsampling (paper Eq. 1)
// in place of its two max-pools: p = 2 (L2 pooling), then p = 4.5.
func pnormFile(t *testing.T, w float64, seed uint64) []byte {
	t.Helper()
	s, err := kernel.ZooSpec("model-c", 0, w)
	if err != nil {
		t.Fatal(err)
	}
	ps := []float32{2, 4.5}
	for i, l := range s.Layers {
		if l.Type == kernel.TypeMaxPool && len(ps) > 0 {
			s.Layers[i].Type, s.Layers[i].P = kernel.TypePNorm, ps[0]
			ps = ps[1:]
		}
	}
	if len(ps) != 0 {
		t.Fatalf("model-c has %d max-pools, want 2", 2-len(ps))
	}
	return netFile(t, seededNet(t, *s, seed), channelNorm, nil)
}

// conform runs one architecture natively and in the guest and compares.
func conform(t *testing.T, g *guest, name string, width float64, seed uint64) {
	conformFile(t, g, name, modelFile(t, name, width, seed), seed, nil)
}

// bundledModel is the trained model that the demo serves.
const bundledModel = "../models/allcnn-c.msgpack"

// TestConformanceBundled compares the trained model of the demo, at full
// size, under the compiler with and without the SIMD kernels. (The
// interpreter, many times slower, covers every layer type in
// TestConformance at reduced widths.)
func TestConformanceBundled(t *testing.T) {
	file, err := os.ReadFile(bundledModel)
	if err != nil {
		t.Skipf("no bundled model: %v", err)
	}
	for _, v := range variants[:2] {
		t.Run(v.String(), func(t *testing.T) {
			start := time.Now()
			g := instance(t, v)
			before := g.worst
			g.worst = 0
			conformFile(t, g, "all-cnn-c", file, 7, realImage(t))
			t.Logf("bundled model under %v: %v; largest difference %.2e of max(1, max |native|)", v, time.Since(start).Round(time.Millisecond), g.worst)
			g.worst = max(g.worst, before)
		})
	}
}

// realImage is a CIFAR-10 training image (a cat) as RGBA bytes: a trained
// net is only meaningful on images like those it learnt from.
func realImage(t *testing.T) *image.RGBA {
	return readRGBA(t, "testdata/cat.jpg")
}

// conformFile runs the model of a weight file natively and in the guest
// and compares, on the preprocessed photo if given, else on random input.
func conformFile(t *testing.T, g *guest, name string, file []byte, seed uint64, photo *image.RGBA) {
	native, err := allcnn.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	h, msg := g.load(t, file)
	if h == 0 {
		t.Fatalf("load: %s", msg)
	}
	defer g.call(t, "unload", uint64(h))
	info := native.Info()
	size := native.InputSize()
	if got := g.call(t, "input_size", uint64(h)); int(got) != size {
		t.Fatalf("input_size = %d, want %d", got, size)
	}

	// Preprocessing: a 45×37 image is cropped and resized to the input.
	const iw, ih = 45, 37
	img := randomBytes(4*iw*ih, seed)
	want, err := native.Input(img, iw, ih)
	if err != nil {
		t.Fatal(err)
	}
	ip, xp := g.put(t, img), g.alloc(t, 4*size)
	if g.call(t, "input", uint64(h), uint64(ip), i32(iw), i32(ih), uint64(xp)) != 0 {
		t.Fatalf("input: %s", g.lastError(t))
	}
	g.compare(t, "input", g.getFloats(t, xp, size), want)
	g.free(t, ip, xp)

	// Logits of a prepared input.
	x := randomFloats(size, seed)
	if photo != nil {
		x, err = native.Input(photo.Pix, photo.Rect.Dx(), photo.Rect.Dy())
		if err != nil {
			t.Fatal(err)
		}
	}
	wantLogits, err := native.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	xp, out := g.putFloats(t, x), g.alloc(t, 4*len(wantLogits))
	if g.call(t, "logits", uint64(h), uint64(xp), uint64(out)) != 0 {
		t.Fatalf("logits: %s", g.lastError(t))
	}
	g.compare(t, "logits", g.getFloats(t, out, len(wantLogits)), wantLogits)
	g.free(t, xp, out)

	// Saliency: the top class by each method, the strongest unit of a
	// middle layer, and the switched net for All-CNN-C.
	mid := info.Layers[len(info.Layers)/2].Name
	opts := []string{"method=gradient", "method=deconvnet", "method=guided", "method=guided&layer=" + mid}
	if name == "all-cnn-c" {
		opts = append(opts, "method=guided&switches=true", "method=deconvnet&switches=true&layer=conv6")
	}
	conformSaliency(t, g, h, native, x, opts)
}

// conformSaliency compares the maps of each request in opts (query
// strings) of the model loaded natively and in the guest as h, for the
// prepared input x.
func conformSaliency(t *testing.T, g *guest, h int32, native *allcnn.Model, x []float32, opts []string) {
	t.Helper()
	for _, o := range opts {
		req, err := allcnn.ParseRequest(o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := native.Saliency(x, req)
		if err != nil {
			t.Fatal(err)
		}
		raw, tg := g.saliency(t, h, x, o)
		if want := (target{s.Unit, s.At[0], s.At[1]}); tg != want {
			t.Fatalf("%s: the guest explains unit %v, native code %v (a near tie?)", o, tg, want)
		}
		g.compare(t, fmt.Sprintf("%s (unit %d)", o, s.Unit), raw, s.Raw)
		if _, scale := maxDiff(s.Raw, s.Raw); scale == 0 && !strings.Contains(o, "layer") {
			t.Errorf("%s: the map is zero; pick another seed for a meaningful comparison", o)
		}
	}
}

// TestConformanceMethods compares the methods beyond the paper (SmoothGrad
// and its variants, integrated gradients, Grad-CAM, guided Grad-CAM,
// occlusion) on All-CNN-C at an eighth of its width, under the compiler
// with and without the SIMD kernels: they are built of the passes the
// other tests compare, so a slower engine adds nothing.
func TestConformanceMethods(t *testing.T) {
	file := modelFile(t, "all-cnn-c", 1.0/8, 5)
	native, err := allcnn.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	x := randomFloats(native.InputSize(), 5)
	for _, v := range variants[:2] {
		t.Run(v.String(), func(t *testing.T) {
			g := instance(t, v)
			h, msg := g.load(t, file)
			if h == 0 {
				t.Fatal(msg)
			}
			defer g.call(t, "unload", uint64(h))
			conformSaliency(t, g, h, native, x, []string{
				"method=smoothgrad&samples=4&seed=1", "method=smoothgrad2&samples=2", "method=vargrad&samples=3&rule=guided",
				"method=integrated&steps=8&baseline=blur", "method=gradcam", "method=guided-gradcam&camlayer=conv6",
				"method=occlusion&window=8&stride=8"})
		})
	}
}

// The drawn map: the same pixels up to one level (a value at a rounding
// boundary may round either way).
func TestConformanceRGBA(t *testing.T) {
	g := instance(t, variants[0])
	file := modelFile(t, "all-cnn-c", 1.0/8, 3)
	native, err := allcnn.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	h, msg := g.load(t, file)
	if h == 0 {
		t.Fatal(msg)
	}
	defer g.call(t, "unload", uint64(h))
	const iw, ih = 40, 30
	img := randomBytes(4*iw*ih, 4)
	for _, o := range []string{"method=guided&colormap=rgb&clip=99.5", "method=gradient&sign=absolute&colormap=inferno&overlay=0.6"} {
		req, _ := allcnn.ParseRequest(o)
		s, err := native.SaliencyRGBA(img, iw, ih, req)
		if err != nil {
			t.Fatal(err)
		}
		ip, op, out := g.put(t, img), g.put(t, []byte(o)), g.alloc(t, len(s.Image))
		if g.call(t, "saliency_rgba", uint64(h), uint64(ip), i32(iw), i32(ih), uint64(op), i32(len(o)), uint64(out), 0, 0) != 0 {
			t.Fatalf("saliency_rgba: %s", g.lastError(t))
		}
		got := g.get(t, out, len(s.Image))
		g.free(t, ip, op, out)
		var diff int
		for i := range got {
			diff = max(diff, int(math.Abs(float64(got[i])-float64(s.Image[i]))))
		}
		t.Logf("%-60s max |Δ| %d levels", o, diff)
		if diff > 1 {
			t.Errorf("%s: pixels differ by %d levels", o, diff)
		}
	}
}

// Failures return the failure value with a message, and the instance keeps
// working.
func TestGuestErrors(t *testing.T) {
	g := instance(t, variants[0])
	if h, msg := g.load(t, []byte("GIF89a, not a weight file")); h != 0 || !strings.Contains(msg, "not an allcnn weight file") {
		t.Errorf("load(garbage) = %d, %q", h, msg)
	} else {
		t.Logf("load(garbage): %s", msg)
	}
	file := modelFile(t, "all-cnn-c", 1.0/8, 5)
	if h, msg := g.load(t, file[:len(file)-9]); h != 0 || !strings.Contains(msg, "truncated") {
		t.Errorf("load(truncated) = %d, %q", h, msg)
	}
	h, msg := g.load(t, file)
	if h == 0 {
		t.Fatal(msg)
	}
	x := randomFloats(3*32*32, 6)
	xp, out := g.putFloats(t, x), g.alloc(t, 4*len(x))
	small := g.alloc(t, 8)
	checks := []struct {
		name, want string
		call       func() int32
	}{
		{"unknown handle", "no model with handle 99", func() int32 { return g.call(t, "logits", 99, uint64(xp), uint64(out)) }},
		{"pointer not from alloc", "not a block from alloc", func() int32 { return g.call(t, "logits", uint64(h), uint64(xp+4), uint64(out)) }},
		{"output block too small", "needs 40 bytes", func() int32 { return g.call(t, "logits", uint64(h), uint64(xp), uint64(small)) }},
		{"bad option", `unknown option`, func() int32 {
			o := g.put(t, []byte("colour=red"))
			defer g.free(t, o)
			return g.call(t, "saliency", uint64(h), uint64(xp), uint64(o), 10, uint64(out), 0)
		}},
		{"unknown layer", `no layer "conv99"`, func() int32 {
			o := g.put(t, []byte("layer=conv99"))
			defer g.free(t, o)
			return g.call(t, "saliency", uint64(h), uint64(xp), uint64(o), 12, uint64(out), 0)
		}},
		{"image of the wrong size", "needs 400 bytes", func() int32 {
			return g.call(t, "classify", uint64(h), uint64(small), 10, 10, uint64(out))
		}},
		{"free twice", "not a block from alloc", func() int32 {
			p := g.alloc(t, 3)
			g.free(t, p)
			return g.call(t, "free", uint64(p))
		}},
		{"unload twice", "no model with handle", func() int32 {
			h2, _ := g.load(t, file)
			g.call(t, "unload", uint64(h2))
			return g.call(t, "unload", uint64(h2))
		}},
	}
	for _, c := range checks {
		if r := c.call(); r != -1 {
			t.Errorf("%s: returned %d, want -1", c.name, r)
			continue
		}
		if msg := g.lastError(t); !strings.Contains(msg, c.want) {
			t.Errorf("%s: last_error %q, want it to mention %q", c.name, msg, c.want)
		} else {
			t.Logf("%s: %s", c.name, msg)
		}
	}
	// Still working: the logits match native code.
	native, err := allcnn.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := native.Logits(x)
	if g.call(t, "logits", uint64(h), uint64(xp), uint64(out)) != 0 {
		t.Fatalf("logits after errors: %s", g.lastError(t))
	}
	g.compare(t, "logits after errors", g.getFloats(t, out, 10), want)
	// A truncated last_error copy writes only cap bytes.
	if n := g.call(t, "last_error", uint64(small), 4); n <= 4 {
		t.Errorf("last_error length %d", n)
	}
	g.free(t, xp, out, small)
	g.call(t, "unload", uint64(h))
}
