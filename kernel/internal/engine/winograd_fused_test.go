package engine

import (
	"fmt"
	"math"
	"testing"
)

// asmAvailable is whether this CPU runs the fused transforms' assembly.
var asmAvailable = hasAVX2 && hasFMA

// winogradMode is one implementation of the F(4×4) transforms: the dense
// Kronecker GEMMs, or the fused transforms in Go or in assembly.
type winogradMode struct {
	name       string
	fused, asm bool
	no512      bool // the 8-tile assembly alone, as on a CPU without AVX-512
}

func winogradModes() []winogradMode {
	modes := []winogradMode{{"dense", false, false, false}, {"fused-go", true, false, false}}
	if asmAvailable {
		modes = append(modes, winogradMode{"fused-asm", true, true, false})
	}
	if asmAvailable && hasAVX512 {
		modes = append(modes, winogradMode{"fused-asm-avx2", true, true, true})
	}
	return modes
}

// config is c in mode m. The Go versions of the fused transforms run only
// where they are asked for (the engine never picks them itself).
func (m winogradMode) config(c Config) Config {
	c.NoFused, c.NoAsm = !m.fused, !m.asm
	return c
}

// engine makes an engine of c in mode m, forcing the fused Go transforms
// that New would not choose.
func (m winogradMode) engine(c Config) *Engine {
	e := New(m.config(c))
	e.fused = m.fused
	if m.no512 {
		e.winograd512 = false
	}
	return e
}

// kronApply returns p·x in float64 for p (rows × len(x), row-major) and,
// for each row, Σ |p·x| terms, the scale of its rounding error.
func kronApply(p []float32, x []float64) (y, scale []float64) {
	n := len(x)
	for r := 0; r < len(p)/n; r++ {
		var s, a float64
		for c, v := range x {
			s += float64(p[r*n+c]) * v
			a += math.Abs(float64(p[r*n+c]) * v)
		}
		y, scale = append(y, s), append(scale, a)
	}
	return y, scale
}

// transpose returns the cols × rows transpose of p (rows × cols).
func transpose(p []float32, rows, cols int) []float32 {
	q := make([]float32, len(p))
	for r := range rows {
		for c := range cols {
			q[c*rows+r] = p[r*cols+c]
		}
	}
	return q
}

// TestWinogradFusedBlocks pins each fused transform, in Go for 1 to 8
// tiles and in assembly for 8, to the dense Kronecker form it replaces
// (Bᵀ⊗Bᵀ, Aᵀ⊗Aᵀ and its transpose, applied in float64): tiles at scattered
// offsets of a plane, outputs in columns of a wider matrix, the bias added.
func TestWinogradFusedBlocks(t *testing.T) {
	tr := newWinogradTransforms(4)
	aaT := transpose(tr.aa, 16, 36)
	rng := newRNG(11)
	const stride, rows, ld = 37, 30, 21 // ld > 8: the blocks' columns are within wider rows
	type impl struct {
		name  string
		lanes int
		asm   bool
	}
	impls := []impl{}
	for l := 1; l <= 8; l++ {
		impls = append(impls, impl{fmt.Sprintf("go/%d", l), l, false})
	}
	if asmAvailable {
		impls = append(impls, impl{"asm/8", 8, true})
	}
	worst := map[string]float64{}
	check := func(what string, got float32, want, scale float64) {
		err := math.Abs(float64(got)-want) / (scale + 1e-30)
		worst[what] = math.Max(worst[what], err)
		if err > 1e-6 {
			t.Errorf("%s: %v, want %v (error %.3g of the terms' magnitude)", what, got, want, err)
		}
	}
	for _, im := range impls {
		for range 20 {
			plane := randTensor(rng, 1, rows*stride).Data
			off := make([]int, 8)
			for l := range off {
				// Anywhere a 6×6 tile (read as 6×8) fits.
				off[l] = rng.IntN(rows-6)*stride + rng.IntN(stride-8)
			}
			off = off[:im.lanes]
			col := rng.IntN(ld - 8 + 1) // first column of the block

			// Input: V = (Bᵀ⊗Bᵀ) vec(d).
			v := make([]float32, 36*ld)
			if im.asm {
				winogradInput4x8(&v[col], ld, &plane[0], stride, (*[8]int)(off))
			} else {
				winogradInput4(v[col:], ld, plane, stride, off)
			}
			for l, o := range off {
				d := make([]float64, 36)
				for a := range 6 {
					for b := range 6 {
						d[a*6+b] = float64(plane[o+a*stride+b])
					}
				}
				want, scale := kronApply(tr.bb, d)
				for xi := range 36 {
					check(fmt.Sprintf("%s input lane %d ξ %d", im.name, l, xi), v[xi*ld+col+l], want[xi], scale[xi])
				}
			}

			// Output: y = (Aᵀ⊗Aᵀ) vec(M) + bias, and rectified: each element
			// exactly the rectified element of the plain output.
			m := randTensor(rng, 1, 36*ld).Data
			keep := append([]float32(nil), m...) // the assembly overwrites m
			bias := float32(rng.NormFloat64())
			// Output blocks must not overlap: distinct cells of a grid
			// with pitch 5.
			yoff := make([]int, 8)
			for l, cell := range rng.Perm(rows / 5 * (stride / 5))[:im.lanes] {
				yoff[l] = cell/(stride/5)*5*stride + cell%(stride/5)*5
			}
			yoff = yoff[:im.lanes]
			var plain []float32
			for _, rectify := range []bool{false, true} {
				copy(m, keep)
				y := make([]float32, rows*stride)
				if im.asm {
					winogradOutput4x8(&y[0], stride, (*[8]int)(yoff), &m[col], ld, bias, rectify)
				} else {
					winogradOutput4(y, stride, yoff, m[col:], ld, bias, rectify)
				}
				if !rectify {
					plain = y
					for l, o := range yoff {
						mv := make([]float64, 36)
						for xi := range mv {
							mv[xi] = float64(keep[xi*ld+col+l])
						}
						want, scale := kronApply(tr.aa, mv)
						for k := range 16 {
							check(fmt.Sprintf("%s output lane %d element %d", im.name, l, k), y[o+(k/4)*stride+k%4], want[k]+float64(bias), scale[k]+math.Abs(float64(bias)))
						}
					}
					continue
				}
				for l, o := range yoff {
					for k := range 16 {
						i := o + (k/4)*stride + k%4
						if got, want := y[i], rectified(plain[i]); math.Float32bits(got) != math.Float32bits(want) {
							t.Errorf("%s rectified output lane %d element %d: %v, want %v", im.name, l, k, got, want)
						}
					}
				}
			}

			// Weight gradient: dM = (Aᵀ⊗Aᵀ)ᵀ vec(e).
			dm := make([]float32, 36*ld)
			if im.asm {
				winogradGradOutput4x8(&dm[col], ld, &plane[0], stride, (*[8]int)(off))
			} else {
				winogradGradOutput4(dm[col:], ld, plane, stride, off)
			}
			for l, o := range off {
				e := make([]float64, 16)
				for k := range e {
					e[k] = float64(plane[o+(k/4)*stride+k%4])
				}
				want, scale := kronApply(aaT, e)
				for xi := range 36 {
					check(fmt.Sprintf("%s grad lane %d ξ %d", im.name, l, xi), dm[xi*ld+col+l], want[xi], scale[xi])
				}
			}
		}
	}
	for _, im := range impls {
		for _, what := range []string{"input", "output", "grad"} {
			w := 0.0
			for k, v := range worst {
				if len(k) > len(im.name)+len(what)+1 && k[:len(im.name)+1+len(what)] == im.name+" "+what {
					w = math.Max(w, v)
				}
			}
			if im.lanes == 8 {
				t.Logf("%-6s %-6s worst error %.3g of the terms' magnitude", im.name, what, w)
			}
		}
	}
}

// TestWinogradFusedMatchesDense runs the three passes of F(4×4) with the
// fused transforms (Go and assembly) and with the dense GEMMs on ragged
// sizes, every padding and tile counts that are and are not multiples of
// 8: they agree to float32 rounding (both are within winogradTol of the
// exact convolution: TestWinogradMatchesDirect).
func TestWinogradFusedMatchesDense(t *testing.T) {
	t.Parallel()
	cases := winogradCases
	type result struct{ y, dx, dw, db []float32 }
	worst := map[string]float64{}
	defer func() {
		for m, w := range worst {
			t.Logf("%s: worst difference from dense %.3g of the largest value", m, w)
		}
	}()
	for _, c := range cases {
		for pad := range 3 {
			if c.h+2*pad < 3 || c.w+2*pad < 3 {
				continue
			}
			name := fmt.Sprintf("n%d-c%d-o%d-%dx%d-pad%d", c.n, c.c, c.o, c.h, c.w, pad)
			rng := newRNG(uint64(c.n*1000 + c.c*100 + c.h*10 + pad))
			oh, ow := c.h+2*pad-2, c.w+2*pad-2
			x := randTensor(rng, 1, c.n, c.c, c.h, c.w)
			weight := randTensor(rng, 1, c.o*c.c*9).Data
			bias := randTensor(rng, 1, c.o).Data
			dy := randTensor(rng, 1, c.n, c.o, oh, ow)
			run := func(m winogradMode) result {
				wg := m.engine(Config{Threads: 2}).NewWinograd(4, c.c, c.o, pad, nil)
				r := result{newTensor(c.n, c.o, oh, ow).Data, nil, make([]float32, len(weight)), make([]float32, len(bias))}
				y := &tensor{Shape: []int{c.n, c.o, oh, ow}, Data: r.y}
				dx := newTensor(x.Shape...)
				wg.Forward(x.maps(), weight, bias, y.maps(), false, false)
				wg.BackwardData(dy.maps(), weight, dx.maps(), false)
				wg.BackwardWeights(x.maps(), dy.maps(), r.dw, r.db)
				r.dx = dx.Data
				return r
			}
			modes := winogradModes()
			want := run(modes[0])
			for _, m := range modes[1:] {
				got := run(m)
				for _, v := range []struct {
					pass      string
					got, want []float32
				}{{"forward", got.y, want.y}, {"input grad", got.dx, want.dx}, {"weight grad", got.dw, want.dw}, {"bias grad", got.db, want.db}} {
					scale := 0.0
					for _, w := range v.want {
						scale = math.Max(scale, math.Abs(float64(w)))
					}
					d := maxDiff(v.got, v.want)
					worst[m.name] = math.Max(worst[m.name], d/scale)
					if d > winogradTol[4]*scale {
						t.Errorf("%s %s %s: differs from dense by %.3g (max |v| %.3g)", m.name, name, v.pass, d, scale)
					}
				}
			}
		}
	}
}

// TestWinogradRectify: a forward pass with its rectifier fused gives the
// rectified output of one without, bit for bit, for every implementation
// and schedule (outputs split by channels or in bands of tile rows).
func TestWinogradRectify(t *testing.T) {
	for _, c := range winogradCases {
		pad := 1
		oh, ow := c.h+2*pad-2, c.w+2*pad-2
		rng := newRNG(uint64(c.c*100 + c.h))
		x := randTensor(rng, 1, c.n, c.c, c.h, c.w)
		weight := randTensor(rng, 1, c.o*c.c*9).Data
		bias := randTensor(rng, 1, c.o).Data
		for _, m := range winogradModes() {
			for _, threads := range []int{1, 2, 3} {
				e := m.engine(Config{Threads: threads})
				plain, fused := newTensor(c.n, c.o, oh, ow), newTensor(c.n, c.o, oh, ow)
				e.NewWinograd(4, c.c, c.o, pad, nil).Forward(x.maps(), weight, bias, plain.maps(), false, false)
				e.NewWinograd(4, c.c, c.o, pad, nil).Forward(x.maps(), weight, bias, fused.maps(), false, true)
				for i, v := range plain.Data {
					if want := max(v, 0); math.Float32bits(fused.Data[i]) != math.Float32bits(want) {
						t.Fatalf("%s n%d-c%d-o%d-%dx%d, %d goroutines: output %d is %v, want max(%v, 0)", m.name, c.n, c.c, c.o, c.h, c.w, threads, i, fused.Data[i], v)
					}
				}
			}
		}
	}
}

// TestWinogradFusedBlocks16 holds the 16-tile assembly (AVX-512) to the
// 8-tile one, bit for bit, on tiles in quads at random places of a plane:
// each lane runs the same instructions, so that a tile's results do not
// depend on the block that computes them (a batch's and one image's
// passes agree to the bit). The 8-tile routines are held to the dense
// transforms by TestWinogradFusedBlocks.
func TestWinogradFusedBlocks16(t *testing.T) {
	if !asmAvailable || !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := newRNG(12)
	const stride, rows, ld = 77, 40, 53
	same := func(what string, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d is %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	for it := range 50 {
		plane := randTensor(rng, 1, rows*stride).Data
		if it%10 == 0 { // the rectifier's edge cases among the values
			for i, v := range []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(-1)), float32(math.Inf(1))} {
				plane[rng.IntN(len(plane))], plane[i] = v, v
			}
		}
		// Input tiles: quads anywhere the 18 floats of their rows fit.
		off := make([]int, 16)
		for q := range 4 {
			base := rng.IntN(rows-6)*stride + rng.IntN(stride-18)
			for l := range 4 {
				off[4*q+l] = base + 4*l
			}
		}
		col := rng.IntN(ld - 16 + 1)
		got := make([]float32, 36*ld)
		want := make([]float32, 36*ld)
		var scratch [576]float32
		winogradInput4x16(&got[col], ld, &plane[0], stride, (*[16]int)(off), &scratch)
		winogradInput4x8(&want[col], ld, &plane[0], stride, (*[8]int)(off[:8]))
		winogradInput4x8(&want[col+8], ld, &plane[0], stride, (*[8]int)(off[8:]))
		same(fmt.Sprintf("input %d", it), got, want)

		// Output blocks: quads (16×4 floats) in distinct cells of a grid
		// with pitch 17×5.
		m := randTensor(rng, 1, 36*ld).Data
		if it%10 == 0 {
			for i, v := range []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(-1))} {
				m[i*ld+col] = v
			}
		}
		keep := append([]float32(nil), m...)
		yoff := make([]int, 16)
		cells := rng.Perm(rows / 5 * (stride / 17))
		for q := range 4 {
			c := cells[q]
			base := c/(stride/17)*5*stride + c%(stride/17)*17
			for l := range 4 {
				yoff[4*q+l] = base + 4*l
			}
		}
		bias := float32(rng.NormFloat64())
		for _, rectify := range []bool{false, true} {
			y16 := make([]float32, rows*stride)
			y8 := make([]float32, rows*stride)
			var scratch [384]float32
			winogradOutput4x16(&y16[0], stride, (*[16]int)(yoff), &m[col], ld, bias, rectify, &scratch)
			same(fmt.Sprintf("output %d leaves its source", it), m, keep)
			winogradOutput4x8(&y8[0], stride, (*[8]int)(yoff[:8]), &m[col], ld, bias, rectify)
			winogradOutput4x8(&y8[0], stride, (*[8]int)(yoff[8:]), &m[col+8], ld, bias, rectify)
			copy(m, keep)
			same(fmt.Sprintf("output %d, rectify %v", it, rectify), y16, y8)
		}
	}
}

// TestWinogradInputAdjoint16 holds the 16-tile input adjoint (AVX-512) to
// the Go one on the tiles of whole maps, 4 to 12 tiles a row, blocks of 16
// in order as fusedInputAdjoint runs them: it sums each quad's overlapping
// tiles in registers, so it agrees to rounding, not to the bit.
func TestWinogradInputAdjoint16(t *testing.T) {
	if !asmAvailable || !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := newRNG(14)
	for _, ts := range [][2]int{{4, 4}, {8, 8}, {4, 12}, {2, 8}} {
		tilesY, tilesX := ts[0], ts[1]
		stride := 4*tilesX + 4
		plane := (4*tilesY + 2) * stride
		T := tilesY * tilesX
		off := tileOffsets(nil, 1, tilesY, tilesX, stride, plane)
		ld := T + 5
		v := randTensor(rng, 1, 36*ld).Data
		keep := append([]float32(nil), v...)
		got := make([]float32, plane)
		want := make([]float32, plane)
		var scratch [576]float32
		for k := 0; k+16 <= T; k += 16 {
			winogradInputAdjoint4x16(&got[0], stride, (*[16]int)(off[k:k+16]), &v[k], ld, &scratch)
		}
		for i := range v {
			if v[i] != keep[i] {
				t.Fatalf("%d×%d tiles: the source changed at %d", tilesY, tilesX, i)
			}
		}
		if T%16 != 0 {
			t.Fatalf("test geometry %d×%d: %d tiles", tilesY, tilesX, T)
		}
		winogradInputAdjoint4(want, stride, off[:T], v, ld)
		scale := 0.0
		for _, x := range want {
			scale = math.Max(scale, math.Abs(float64(x)))
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*scale {
				t.Fatalf("%d×%d tiles: element %d (row %d, column %d) is %v, want %v", tilesY, tilesX, i, i/stride, i%stride, got[i], want[i])
			}
		}
	}
}
