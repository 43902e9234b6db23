package engine

import (
	"fmt"
	"math"
	"testing"
)

// TestCol2imIsAdjoint: Col2im is the adjoint of Im2col, ⟨Im2col(x), c⟩ =
// ⟨x, Col2im(c)⟩, for kernels 1–3, strides 1–3, paddings 0–2 and odd and
// even maps, as a channel range inside a wider column matrix.
func TestCol2imIsAdjoint(t *testing.T) {
	rng := newRNG(7)
	for k := 1; k <= 3; k++ {
		for s := 1; s <= 3; s++ {
			for pad := 0; pad < k; pad++ {
				for _, hw := range [][2]int{{5, 7}, {8, 8}, {3, 4}} {
					h, w := hw[0], hw[1]
					oh, ow := convOut(h, k, s, pad), convOut(w, k, s, pad)
					if oh < 1 || ow < 1 {
						continue
					}
					name := fmt.Sprintf("k%d-s%d-pad%d-%dx%d", k, s, pad, h, w)
					const c, off = 3, 2
					ld := oh*ow + 3
					x := randTensor(rng, 1, c*h*w).Data
					cm := randTensor(rng, 1, c*k*k*ld).Data
					col := make([]float32, len(cm))
					Im2col(x, 0, c, h, w, k, s, pad, oh, ow, col, ld, off)
					dx := randTensor(rng, 1, c*h*w).Data // overwritten
					Col2im(cm, 0, c, h, w, k, s, pad, oh, ow, ld, off, dx)
					var lhs, rhs float64
					for r := range c * k * k {
						for j := range oh * ow {
							lhs += float64(col[r*ld+off+j]) * float64(cm[r*ld+off+j])
						}
					}
					for i := range x {
						rhs += float64(x[i]) * float64(dx[i])
					}
					if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
						t.Errorf("%s: ⟨im2col x, c⟩ = %g, ⟨x, col2im c⟩ = %g", name, lhs, rhs)
					}
				}
			}
		}
	}
}

// TestCol2im3s2 holds the stride-2 col2im to the general one bit for bit,
// signed zeros included, on maps of 2×2 to 16×16 outputs (All-CNN-C's
// conv6) as a channel range inside a wider column matrix.
func TestCol2im3s2(t *testing.T) {
	rng := newRNG(8)
	negZero := float32(math.Copysign(0, -1))
	for _, o := range [][2]int{{2, 2}, {3, 5}, {8, 8}, {16, 16}} {
		oh, ow := o[0], o[1]
		const c, c0, c1, off = 4, 1, 3, 5
		ld := oh*ow + off + 2
		cm := randTensor(rng, 1, c*9*ld).Data
		for i := range cm {
			switch rng.IntN(6) {
			case 0:
				cm[i] = negZero
			case 1:
				cm[i] = 0
			}
		}
		got := randTensor(rng, 1, c*4*oh*ow).Data
		want := append([]float32(nil), got...)
		col2im3s2(cm, c0, c1, oh, ow, ld, off, got)
		col2im(cm, c0, c1, 2*oh, 2*ow, 3, 2, 1, oh, ow, ld, off, want)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d×%d: dx[%d] = %v, want %v", oh, ow, i, got[i], want[i])
			}
		}
	}
}
