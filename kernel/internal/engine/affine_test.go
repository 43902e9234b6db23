package engine

import (
	"math"
	"testing"
)

// TestAffineAsm: the assembly affine loops (where the CPU has them) agree
// with the Go loops to rounding (a fused multiply-add rounds once), on
// lengths that leave a tail for Go, and rectify as the builtin max does:
// NaN stays NaN, −0 and negatives become +0.
func TestAffineAsm(t *testing.T) {
	if !New(Config{}).affineAsm {
		t.Skip("no assembly affine loops on this CPU or build")
	}
	rng := newRNG(6)
	for _, n := range []int{1, 7, 8, 9, 64, 1027} {
		x, z := randTensor(rng, 3, n).Data, randTensor(rng, 3, n).Data
		x[0] = float32(math.NaN())
		if n > 2 {
			x[1] = float32(math.Copysign(0, -1))
		}
		a, c, b := float32(1.7), float32(-0.3), float32(0.25)
		run := func(asm bool) (y, r, y2 []float32) {
			e := New(Config{NoAsm: !asm})
			y, r, y2 = make([]float32, n), make([]float32, n), make([]float32, n)
			e.Affine(y, x, a, b, false)
			e.Affine(r, x, a, 0, true)
			e.Affine2(y2, x, z, a, c, b)
			return
		}
		ya, ra, y2a := run(true)
		yg, rg, y2g := run(false)
		for i := range n {
			for _, v := range []struct {
				what    string
				as, go_ float32
			}{{"affine", ya[i], yg[i]}, {"affineReLU", ra[i], rg[i]}, {"affine2", y2a[i], y2g[i]}} {
				if math.IsNaN(float64(v.go_)) {
					if !math.IsNaN(float64(v.as)) {
						t.Errorf("n %d: %s[%d]: %v, want NaN", n, v.what, i, v.as)
					}
					continue
				}
				if d := math.Abs(float64(v.as - v.go_)); d > 1e-6*math.Max(1, math.Abs(float64(v.go_))) {
					t.Errorf("n %d: %s[%d]: assembly %v, Go %v", n, v.what, i, v.as, v.go_)
				}
				if v.what == "affineReLU" && math.Signbit(float64(v.as)) {
					t.Errorf("n %d: affineReLU[%d] = %v: negative or −0", n, i, v.as)
				}
			}
		}
	}
}
