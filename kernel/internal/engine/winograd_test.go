package engine

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestWinogradTransforms1D checks the 1-D matrices of F(m, 3) against their
// defining identity in float64: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d
// with g, y[i] = Σ_k d[i+k]·g[k].
func TestWinogradTransforms1D(t *testing.T) {
	rng := newRNG(1)
	for _, m := range []int{2, 4} {
		bt, g, at := winograd1D(m)
		tl := m + 2
		for trial := range 100 {
			d := make([]float64, tl)
			k := make([]float64, 3)
			for i := range d {
				d[i] = rng.NormFloat64()
			}
			for i := range k {
				k[i] = rng.NormFloat64()
			}
			prod := make([]float64, tl)
			for xi := range tl {
				var gk, bd float64
				for j := range 3 {
					gk += g[xi][j] * k[j]
				}
				for j := range tl {
					bd += bt[xi][j] * d[j]
				}
				prod[xi] = gk * bd
			}
			for i := range m {
				var got, want float64
				for xi := range tl {
					got += at[i][xi] * prod[xi]
				}
				for j := range 3 {
					want += d[i+j] * k[j]
				}
				if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
					t.Fatalf("F(%d,3) trial %d output %d: %v, want %v", m, trial, i, got, want)
				}
			}
		}
	}
}

// refConv is a direct float64 convolution of x (N×C×H×W) with w
// ([O][C][3][3]) and padding pad: y[n][o][i][j] = b[o] +
// Σ x[n][c][i−pad+a][j−pad+b]·w[o][c][a][b], and its gradients for dy.
type refConv struct {
	n, c, h, w, o, pad, oh, ow int
}

func (r refConv) in(x *tensor, n, c, i, j int) float64 {
	if i < 0 || i >= r.h || j < 0 || j >= r.w {
		return 0
	}
	return float64(x.Data[((n*r.c+c)*r.h+i)*r.w+j])
}

func (r refConv) forward(x *tensor, w, b []float32) []float64 {
	y := make([]float64, r.n*r.o*r.oh*r.ow)
	for n := range r.n {
		for o := range r.o {
			for i := range r.oh {
				for j := range r.ow {
					s := float64(b[o])
					for c := range r.c {
						for a := range 3 {
							for bb := range 3 {
								s += r.in(x, n, c, i-r.pad+a, j-r.pad+bb) * float64(w[((o*r.c+c)*3+a)*3+bb])
							}
						}
					}
					y[((n*r.o+o)*r.oh+i)*r.ow+j] = s
				}
			}
		}
	}
	return y
}

// backward returns dx, dw and db for output gradient dy.
func (r refConv) backward(x, dy *tensor, w []float32) (dx, dw, db []float64) {
	dx = make([]float64, r.n*r.c*r.h*r.w)
	dw = make([]float64, r.o*r.c*9)
	db = make([]float64, r.o)
	for n := range r.n {
		for o := range r.o {
			for i := range r.oh {
				for j := range r.ow {
					g := float64(dy.Data[((n*r.o+o)*r.oh+i)*r.ow+j])
					db[o] += g
					for c := range r.c {
						for a := range 3 {
							for bb := range 3 {
								ii, jj := i-r.pad+a, j-r.pad+bb
								if ii < 0 || ii >= r.h || jj < 0 || jj >= r.w {
									continue
								}
								k := ((o*r.c+c)*3+a)*3 + bb
								dx[((n*r.c+c)*r.h+ii)*r.w+jj] += g * float64(w[k])
								dw[k] += g * r.in(x, n, c, ii, jj)
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, db
}

// relErr returns the largest |got − want| and that divided by the largest
// |want|.
func relErr(got []float32, want []float64) (abs, rel float64) {
	if len(got) != len(want) {
		panic(fmt.Sprintf("relErr: %d values, want %d", len(got), len(want)))
	}
	var scale float64
	for i, w := range want {
		abs = math.Max(abs, math.Abs(float64(got[i])-w))
		scale = math.Max(scale, math.Abs(w))
	}
	return abs, abs / scale
}

// winogradTol is the largest error relative to the largest output that each
// F(m, 3) may show on the test shapes (observed: at most 4e-7 for m = 2 and
// 4e-6 for m = 4; a wrong transform entry gives errors of order 1e-2 to 1).
// The bias gradient is a plain float32 sum, the same for both.
var winogradTol = map[int]float64{2: 2e-6, 4: 1e-5}

const biasTol = 1e-5

// winogradCases are the convolutions the Winograd tests run: batch, input
// and output channels, height, width. Odd and even sizes, one channel to
// twenty, tile counts that are and are not multiples of 8, and a map
// smaller than one tile.
var winogradCases = []struct{ n, c, o, h, w int }{
	{1, 1, 1, 5, 5},
	{2, 3, 4, 6, 6},
	{3, 5, 2, 7, 9},
	{1, 8, 6, 8, 8},
	{2, 20, 3, 6, 7},
	{2, 2, 17, 9, 5},
	{1, 4, 5, 32, 32},
	{3, 3, 3, 3, 4}, // smaller than one tile
	{3, 6, 7, 16, 16},
	{5, 3, 3, 13, 11},
}

// TestWinogradMatchesDirect compares the three passes of F(2,3) and F(4,3)
// with a direct float64 convolution on odd and even sizes, every padding,
// several channel counts and batches, and several schedules (goroutines,
// group sizes); F(4,3) with each implementation of its transforms (dense
// GEMMs, fused in Go, fused in assembly where the CPU has it).
func TestWinogradMatchesDirect(t *testing.T) {
	t.Parallel()
	cases := winogradCases[:8]
	type schedule struct{ threads, minTiles, chunk int }
	schedules := []schedule{{1, 128, 4 << 20}, {2, 128, 4 << 20}, {3, 1, 1}, {2, 4, 4 << 20}}
	worst := map[string]float64{}
	type variant struct {
		m    int
		mode winogradMode
	}
	variants := []variant{{2, winogradModes()[0]}}
	for _, mode := range winogradModes() {
		variants = append(variants, variant{4, mode})
	}
	for _, vr := range variants {
		m := vr.m
		for _, c := range cases {
			for pad := range 3 {
				if c.h+2*pad < 3 || c.w+2*pad < 3 {
					continue
				}
				name := fmt.Sprintf("F%d-%s/n%d-c%d-o%d-%dx%d-pad%d", m, vr.mode.name, c.n, c.c, c.o, c.h, c.w, pad)
				rng := newRNG(uint64(c.n*1000 + c.c*100 + c.h*10 + pad))
				r := refConv{n: c.n, c: c.c, h: c.h, w: c.w, o: c.o, pad: pad, oh: c.h + 2*pad - 2, ow: c.w + 2*pad - 2}
				x := randTensor(rng, 1, c.n, c.c, c.h, c.w)
				weight := randTensor(rng, 1, c.o*c.c*9).Data
				bias := randTensor(rng, 1, c.o).Data
				dy := randTensor(rng, 1, c.n, c.o, r.oh, r.ow)
				wantY := r.forward(x, weight, bias)
				wantDx, wantDw, wantDb := r.backward(x, dy, weight)
				for _, s := range schedules {
					e := vr.mode.engine(Config{Threads: s.threads, MinTiles: s.minTiles, ChunkFloats: s.chunk})
					wg := e.NewWinograd(m, c.c, c.o, pad, nil)
					y := newTensor(c.n, c.o, r.oh, r.ow)
					dx := newTensor(x.Shape...)
					dw := make([]float32, len(weight))
					db := make([]float32, len(bias))
					// Twice each: buffers and transformed weights are
					// reused, and the gradients accumulate.
					for range 2 {
						wg.Forward(x.maps(), weight, bias, y.maps(), false, false)
						wg.BackwardData(dy.maps(), weight, dx.maps(), false)
						wg.BackwardWeights(x.maps(), dy.maps(), dw, db)
					}
					// The input gradient as the forward pass's adjoint,
					// where it runs (F(4×4), fused transforms).
					dxa := newTensor(x.Shape...)
					if wg.AdjointOK() {
						for _, keep := range []bool{false, true, true} {
							wg.BackwardDataAdjoint(dy.maps(), weight, dxa.maps(), keep, nil)
						}
					} else {
						copy(dxa.Data, dx.Data)
					}
					for i := range dw {
						dw[i] /= 2
					}
					for i := range db {
						db[i] /= 2
					}
					for _, v := range []struct {
						pass string
						got  []float32
						want []float64
					}{{"forward", y.Data, wantY}, {"input grad", dx.Data, wantDx}, {"adjoint input grad", dxa.Data, wantDx}, {"weight grad", dw, wantDw}, {"bias grad", db, wantDb}} {
						abs, rel := relErr(v.got, v.want)
						key := fmt.Sprintf("F%d %s %s", m, vr.mode.name, v.pass)
						worst[key] = math.Max(worst[key], rel)
						tol := winogradTol[m]
						if v.pass == "bias grad" {
							tol = biasTol
						}
						if rel > tol {
							t.Errorf("%s %+v %s: max abs error %.3g, relative %.3g", name, s, v.pass, abs, rel)
						}
					}
				}
			}
		}
	}
	for _, vr := range variants {
		for _, pass := range []string{"forward", "input grad", "adjoint input grad", "weight grad", "bias grad"} {
			key := fmt.Sprintf("F%d %s %s", vr.m, vr.mode.name, pass)
			t.Logf("%-30s worst relative error %.3g", key, worst[key])
		}
	}
}

// TestWinogradWeightChange: the transformed weights follow weights changed
// in place between calls (as an optimiser changes them).
func TestWinogradWeightChange(t *testing.T) {
	rng := newRNG(4)
	x := randTensor(rng, 1, 2, 3, 8, 8)
	weight := randTensor(rng, 1, 4*3*9).Data
	bias := make([]float32, 4)
	dy := randTensor(rng, 1, 2, 4, 8, 8)
	r := refConv{n: 2, c: 3, h: 8, w: 8, o: 4, pad: 1, oh: 8, ow: 8}
	y := newTensor(2, 4, 8, 8)
	dx := newTensor(x.Shape...)
	changes := []func(){
		func() {},
		func() { // every weight, as an optimiser step does
			for i := range weight {
				weight[i] *= -0.5
			}
		},
		func() { weight[len(weight)-1] += 1 }, // the last weight only
		func() { weight[0] -= 1 },             // the first weight only
	}
	for _, keepU := range []bool{false, true} {
		wg := New(Config{}).NewWinograd(4, 3, 4, 1, nil)
		// Forward passes in a row, then input gradients in a row, so that
		// each call could reuse the transform of the call before.
		for step, change := range changes {
			change()
			wg.Forward(x.maps(), weight, bias, y.maps(), keepU, false)
			if _, rel := relErr(y.Data, r.forward(x, weight, bias)); rel > winogradTol[4] {
				t.Errorf("keepU %v, step %d: forward relative error %.3g", keepU, step, rel)
			}
		}
		for step, change := range changes {
			change()
			wg.BackwardData(dy.maps(), weight, dx.maps(), keepU)
			wantDx, _, _ := r.backward(x, dy, weight)
			if _, rel := relErr(dx.Data, wantDx); rel > winogradTol[4] {
				t.Errorf("keepU %v, step %d: input gradient relative error %.3g", keepU, step, rel)
			}
		}
		// Both passes on one runner, alternating: a kept U must not
		// serve as U′, nor the other way round.
		for step, change := range changes {
			change()
			for range 2 {
				wg.Forward(x.maps(), weight, bias, y.maps(), keepU, false)
				if _, rel := relErr(y.Data, r.forward(x, weight, bias)); rel > winogradTol[4] {
					t.Errorf("keepU %v, alternating step %d: forward relative error %.3g", keepU, step, rel)
				}
				wg.BackwardData(dy.maps(), weight, dx.maps(), keepU)
				wantDx, _, _ := r.backward(x, dy, weight)
				if _, rel := relErr(dx.Data, wantDx); rel > winogradTol[4] {
					t.Errorf("keepU %v, alternating step %d: input gradient relative error %.3g", keepU, step, rel)
				}
			}
		}
	}
}

func TestWinogradPolicy(t *testing.T) {
	requireEqual(t, 4, WinogradTile(32), "tile for 32×32")
	requireEqual(t, 4, WinogradTile(8), "tile for 8×8")
	requireEqual(t, 2, WinogradTile(6), "tile for 6×6")
	requireEqual(t, false, WinogradPays(3, 64, 32, 32), "3 input channels")
	requireEqual(t, true, WinogradPays(192, 1, 16, 16), "192 channels, 16×16, batch 1")
	requireEqual(t, false, WinogradPays(192, 1, 6, 6), "192 channels, 6×6, batch 1")
}

func TestWinogradOK(t *testing.T) {
	for _, c := range []struct {
		k, s, pad int
		want      bool
	}{{3, 1, 0, true}, {3, 1, 1, true}, {3, 1, 2, true}, {3, 1, 3, false}, {3, 2, 1, false}, {1, 1, 0, false}, {5, 1, 2, false}} {
		if got := WinogradOK(c.k, c.s, c.pad); got != c.want {
			t.Errorf("WinogradOK(%d, %d, %d) = %v", c.k, c.s, c.pad, got)
		}
	}
}

// TestWinogradBuffersReused: after the first step, the passes reuse their
// buffers (the remaining allocations are goroutine closures and, with
// gonum's BLAS, gonum's own).
func TestWinogradBuffersReused(t *testing.T) {
	rng := newRNG(6)
	x := randTensor(rng, 1, 8, 16, 16, 16)
	weight := randTensor(rng, 1, 32*16*9).Data
	bias := make([]float32, 32)
	dy := randTensor(rng, 1, 8, 32, 16, 16)
	wg := New(Config{Threads: 2}).NewWinograd(4, 16, 32, 1, nil)
	y, dx := newTensor(8, 32, 16, 16), newTensor(x.Shape...)
	dw, db := make([]float32, len(weight)), make([]float32, len(bias))
	step := func() {
		weight[0] += 1 // new weights every step, as in training
		wg.Forward(x.maps(), weight, bias, y.maps(), false, false)
		wg.BackwardData(dy.maps(), weight, dx.maps(), false)
		wg.BackwardWeights(x.maps(), dy.maps(), dw, db)
	}
	buffers := func() (p []*float32) {
		for _, b := range [][]float32{wg.weight.data, wg.s.a, wg.s.b, wg.s.c, wg.s.u} {
			p = append(p, &b[0])
		}
		return p
	}
	step()
	before := buffers()
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	allocs := testing.AllocsPerRun(10, step)
	runtime.ReadMemStats(&ms2)
	t.Logf("%v allocations, %d bytes per step", allocs, (ms2.TotalAlloc-ms1.TotalAlloc)/11)
	after := buffers()
	if len(after) != len(before) {
		t.Fatalf("%d buffers after the first step, %d later", len(before), len(after))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("buffer %d reallocated", i)
		}
	}
}

// TestWinogradSharedScratch: layers sharing one scratch (as a net's layers
// may) compute what layers with their own compute, with and without keepU,
// in a training step's order of calls, in inference's (forward only,
// weights unchanged) and in a gradient check's.
func TestWinogradSharedScratch(t *testing.T) {
	rng := newRNG(7)
	x1 := randTensor(rng, 1, 2, 3, 9, 9)
	w1, w2 := randTensor(rng, 1, 5*3*9).Data, randTensor(rng, 1, 4*5*9).Data
	b1, b2 := randTensor(rng, 1, 5).Data, randTensor(rng, 1, 4).Data
	dy2 := randTensor(rng, 1, 2, 4, 7, 7)
	run := func(s1, s2 *WinogradScratch, keepU bool) (out [][]float32) {
		e := New(Config{})
		l1, l2 := e.NewWinograd(4, 3, 5, 1, s1), e.NewWinograd(2, 5, 4, 0, s2)
		y1, y2 := newTensor(2, 5, 9, 9), newTensor(2, 4, 7, 7)
		dx1, dy1 := newTensor(x1.Shape...), newTensor(y1.Shape...)
		dw1, dw2 := make([]float32, len(w1)), make([]float32, len(w2))
		db1, db2 := make([]float32, len(b1)), make([]float32, len(b2))
		for range 2 {
			l1.Forward(x1.maps(), w1, b1, y1.maps(), keepU, false)
			l2.Forward(y1.maps(), w2, b2, y2.maps(), keepU, false)
			l2.BackwardWeights(y1.maps(), dy2.maps(), dw2, db2)
			l2.BackwardData(dy2.maps(), w2, dy1.maps(), false)
			l1.BackwardData(dy1.maps(), w1, dx1.maps(), false)
			l1.BackwardWeights(x1.maps(), dy1.maps(), dw1, db1)
		}
		out = append(out, y2.Clone().Data, dx1.Data, dw1, dw2, db1, db2)
		for range 2 { // inference
			l1.Forward(x1.maps(), w1, b1, y1.maps(), keepU, false)
			l2.Forward(y1.maps(), w2, b2, y2.maps(), keepU, false)
		}
		out = append(out, y2.Clone().Data)
		// A gradient check's order: forward, weight gradient, forward again
		// with the same weights.
		l2.BackwardWeights(y1.maps(), dy2.maps(), dw2, db2)
		l2.Forward(y1.maps(), w2, b2, y2.maps(), keepU, false)
		return append(out, y2.Data)
	}
	own := run(nil, nil, false)
	if d := maxDiff(own[0], own[7]); d > 1e-6 {
		t.Errorf("output after weight gradient differs by %g", d)
	}
	for _, keepU := range []bool{false, true} {
		shared := new(WinogradScratch)
		got := run(shared, shared, keepU)
		for i, name := range []string{"output", "input grad", "weight grad 1", "weight grad 2", "bias grad 1", "bias grad 2", "inference output", "output after weight grad"} {
			if d := maxDiff(own[i], got[i]); d > 1e-6 {
				t.Errorf("keepU %v: %s: shared scratch differs by %g", keepU, name, d)
			}
		}
	}
}

// TestWinogradEmptyBatch: a batch of no examples adds nothing to the
// gradients (the weight-gradient buffer still holds the last call's sums).
func TestWinogradEmptyBatch(t *testing.T) {
	rng := newRNG(8)
	x, dy := randTensor(rng, 1, 2, 4, 6, 6), randTensor(rng, 1, 2, 5, 6, 6)
	wg := New(Config{}).NewWinograd(4, 4, 5, 1, nil)
	dw, db := make([]float32, 5*4*9), make([]float32, 5)
	wg.BackwardWeights(x.maps(), dy.maps(), dw, db)
	want := append([]float32(nil), dw...)
	wg.BackwardWeights(newTensor(0, 4, 6, 6).maps(), newTensor(0, 5, 6, 6).maps(), dw, db)
	if d := maxDiff(dw, want); d != 0 {
		t.Fatalf("empty batch changed the weight gradient by %g", d)
	}
}
