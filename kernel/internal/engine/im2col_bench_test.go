package engine

import "testing"

// BenchmarkIm2col lowers and raises one example of All-CNN-C's stride-2
// layers (conv3: 96 channels 32×32 → 16×16; conv6: 192 channels 16×16 →
// 8×8), its first layer and conv7 (192 channels 8×8 → 6×6, unpadded).
func BenchmarkIm2col(b *testing.B) {
	for _, c := range []struct {
		name          string
		c, h, k, s, p int
	}{{"conv1", 3, 32, 3, 1, 1}, {"conv3", 96, 32, 3, 2, 1}, {"conv6", 192, 16, 3, 2, 1}, {"conv7", 192, 8, 3, 1, 0}} {
		oh := convOut(c.h, c.k, c.s, c.p)
		x := randTensor(newRNG(1), 1, 1, c.c, c.h, c.h).Data
		col := make([]float32, c.c*c.k*c.k*oh*oh)
		b.Run(c.name+"/im2col", func(b *testing.B) {
			for b.Loop() {
				Im2col(x, 0, c.c, c.h, c.h, c.k, c.s, c.p, oh, oh, col, oh*oh, 0)
			}
		})
		b.Run(c.name+"/col2im", func(b *testing.B) {
			for b.Loop() {
				Col2im(col, 0, c.c, c.h, c.h, c.k, c.s, c.p, oh, oh, oh*oh, 0, x)
			}
		})
		if c.s == 1 {
			continue
		}
		buf := make([]float32, phaseFloats(c.c, c.h, c.h, c.s))
		b.Run(c.name+"/im2col-phase", func(b *testing.B) {
			for b.Loop() {
				im2colPhase(hasAVX2, x, 0, c.c, c.h, c.h, c.k, c.s, c.p, oh, oh, col, oh*oh, 0, buf)
			}
		})
	}
}
