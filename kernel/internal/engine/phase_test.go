package engine

import (
	"fmt"
	"testing"
)

// TestPhaseLowering: im2colPhase computes what im2col computes, for strides 2 and 3, odd and even maps, every padding a
// kernel allows, and column offsets inside a wider matrix.
func TestPhaseLowering(t *testing.T) {
	rng := newRNG(12)
	for _, s := range []int{2, 3} {
		for _, k := range []int{1, 2, 3, 5} {
			for pad := 0; pad < k; pad++ {
				for _, hw := range [][2]int{{7, 9}, {8, 8}, {5, 6}, {16, 16}, {6, 32}, {7, 16}} {
					h, w := hw[0], hw[1]
					oh, ow := convOut(h, k, s, pad), convOut(w, k, s, pad)
					if oh < 1 || ow < 1 {
						continue
					}
					const c = 3
					name := fmt.Sprintf("s%d k%d pad%d %dx%d", s, k, pad, h, w)
					x := randTensor(rng, 1, c*h*w).Data
					ld, off := 2*oh*ow+3, oh*ow+1
					want := make([]float32, c*k*k*ld)
					got := make([]float32, len(want))
					for i := range got {
						got[i] = 99 // every entry of the rows must be written
					}
					buf := make([]float32, phaseFloats(c, h, w, s))
					Im2col(x, 0, c, h, w, k, s, pad, oh, ow, want, ld, off)
					for _, asm := range []bool{false, hasAVX2} {
						im2colPhase(asm, x, 0, 1, h, w, k, s, pad, oh, ow, got, ld, off, buf)
						im2colPhase(asm, x, 1, c, h, w, k, s, pad, oh, ow, got, ld, off, buf)
						for r := range c * k * k {
							if d := maxDiff(got[r*ld+off:r*ld+off+oh*ow], want[r*ld+off:r*ld+off+oh*ow]); d != 0 {
								t.Fatalf("%s, asm %v: im2col row %d differs by %g", name, asm, r, d)
							}
						}
					}
				}
			}
		}
	}
}

// TestPhaseAsm holds the assembly phase split and row copy to the Go loops:
// the same floats, bit for bit, and nothing written outside.
func TestPhaseAsm(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no assembly on this platform")
	}
	rng := newRNG(13)
	for _, hw := range [][2]int{{2, 16}, {16, 16}, {32, 32}, {4, 48}} {
		h, w := hw[0], hw[1]
		ph, pw := phaseDims(h, w, 2)
		x := randTensor(rng, 1, h*w).Data
		want := make([]float32, 4*ph*pw+5)
		got := make([]float32, len(want))
		for i := range got {
			got[i], want[i] = 99, 99
		}
		deinterleave(false, x, h, w, 2, ph, pw, 0, ph, want)
		deinterleave(true, x, h, w, 2, ph, pw, 0, ph, got)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%dx%d: phase planes [%d] = %v, Go loop %v", h, w, i, got[i], want[i])
			}
		}
	}
	for _, c := range []struct{ rows, n, ss, ds int }{{1, 8, 8, 8}, {3, 16, 16, 21}, {5, 32, 40, 36}} {
		src := randTensor(rng, 1, c.rows*c.ss).Data
		dst := make([]float32, c.rows*c.ds+3)
		copyRows(&dst[0], c.ds, &src[0], c.ss, c.rows, c.n)
		for i, v := range dst {
			r, j := i/c.ds, i%c.ds
			want := float32(0)
			if r < c.rows && j < c.n {
				want = src[r*c.ss+j]
			}
			if v != want {
				t.Fatalf("copyRows %+v: dst[%d] = %v, want %v", c, i, v, want)
			}
		}
	}
}

// TestLoweringRows: Im2colRows and im2colPhaseRows lower a band of output
// rows as Im2col lowers them within the whole map, for every band of 1, 2
// and 3 rows and the halves, writing every entry of the band's columns and
// reading only the plane rows they split themselves (the phase buffer
// starts full of another value for every band), and nothing outside the
// band's columns. With AVX-512 im2colPhaseRows takes the 3×3, stride-2,
// padding-1 lowering on the 16×16 and 32×32 maps straight from the input
// (im2col3s2Rows).
func TestLoweringRows(t *testing.T) {
	rng := newRNG(13)
	for _, s := range []int{1, 2, 3} {
		for _, k := range []int{1, 3, 5} {
			for pad := 0; pad < k; pad++ {
				for _, hw := range [][2]int{{7, 9}, {8, 8}, {16, 16}, {6, 32}, {32, 32}} {
					h, w := hw[0], hw[1]
					oh, ow := convOut(h, k, s, pad), convOut(w, k, s, pad)
					if oh < 1 || ow < 1 {
						continue
					}
					const c = 3
					x := randTensor(rng, 1, c*h*w).Data
					want := make([]float32, c*k*k*oh*ow)
					Im2col(x, 0, c, h, w, k, s, pad, oh, ow, want, oh*ow, 0)
					var bands [][2]int
					for size := 1; size <= 3; size++ {
						for y0 := 0; y0 < oh; y0 += size {
							bands = append(bands, [2]int{y0, min(oh, y0+size)})
						}
					}
					bands = append(bands, [2]int{0, oh / 2}, [2]int{oh / 2, oh})
					for _, b := range bands {
						y0, y1 := b[0], b[1]
						if y0 == y1 {
							continue
						}
						cols := (y1 - y0) * ow
						ld, off := cols+5, 2
						lowerings := map[string]func(got []float32){
							"Im2colRows": func(got []float32) {
								Im2colRows(x, 0, c, h, w, k, s, pad, y0, y1, ow, got, ld, off)
							},
						}
						if k == 3 && s == 2 && pad == 1 && h%2 == 0 && (w == 16 || w == 32) && hasAVX2 {
							for _, avx512 := range []bool{false, hasAVX512} {
								lowerings[fmt.Sprintf("im2col3s2Rows avx512=%v", avx512)] = func(got []float32) {
									im2col3s2Rows(avx512, x, 0, c, h, w, y0, y1, got, ld, off)
								}
							}
						}
						if s > 1 {
							for _, asm := range []bool{false, hasAVX2} {
								lowerings[fmt.Sprintf("im2colPhaseRows asm=%v", asm)] = func(got []float32) {
									buf := make([]float32, phaseFloats(c, h, w, s))
									for i := range buf {
										buf[i] = 77
									}
									im2colPhaseRows(asm, x, 0, c, h, w, k, s, pad, y0, y1, ow, got, ld, off, buf)
								}
							}
						}
						for name, lower := range lowerings {
							got := make([]float32, c*k*k*ld)
							for i := range got {
								got[i] = 99
							}
							lower(got)
							for r := range c * k * k {
								if d := maxDiff(got[r*ld+off:r*ld+off+cols], want[r*oh*ow+y0*ow:r*oh*ow+y1*ow]); d != 0 {
									t.Fatalf("%s s%d k%d pad%d %dx%d rows [%d, %d): im2col row %d differs by %g", name, s, k, pad, h, w, y0, y1, r, d)
								}
								for i, v := range got[r*ld : r*ld+off] {
									if v != 99 {
										t.Fatalf("%s s%d k%d pad%d %dx%d rows [%d, %d): wrote %g before row %d, at %d", name, s, k, pad, h, w, y0, y1, v, r, i)
									}
								}
								for i, v := range got[r*ld+off+cols : (r+1)*ld] {
									if v != 99 {
										t.Fatalf("%s s%d k%d pad%d %dx%d rows [%d, %d): wrote %g past row %d, at %d", name, s, k, pad, h, w, y0, y1, v, r, i)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}
