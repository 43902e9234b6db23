package kernel

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
				for _, hw := range [][2]int{{7, 9}, {8, 8}, {5, 6}, {16, 16}} {
					h, w := hw[0], hw[1]
					oh, ow := ConvOut(h, k, s, pad), ConvOut(w, k, s, pad)
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
					im2col(x, 0, c, h, w, k, s, pad, oh, ow, want, ld, off)
					im2colPhase(x, 0, 1, h, w, k, s, pad, oh, ow, got, ld, off, buf)
					im2colPhase(x, 1, c, h, w, k, s, pad, oh, ow, got, ld, off, buf)
					for r := range c * k * k {
						if d := maxDiff(got[r*ld+off:r*ld+off+oh*ow], want[r*ld+off:r*ld+off+oh*ow]); d != 0 {
							t.Fatalf("%s: im2col row %d differs by %g", name, r, d)
						}
					}
				}
			}
		}
	}
}
