package engine

import (
	"fmt"
	"math"
	"testing"
)

// TestRectifierLoops: the assembly rectifier loops (where the platform has
// them) give the Go loops' results bit for bit (a NaN for a NaN), for lengths around the
// 8-value blocks and for NaN, ±0, ±Inf and subnormals.
func TestRectifierLoops(t *testing.T) {
	specials := []float32{float32(math.NaN()), -float32(math.NaN()), 0, float32(math.Copysign(0, -1)),
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45}
	rng := newRNG(4)
	data := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			if rng.IntN(4) == 0 {
				s[i] = specials[rng.IntN(len(specials))]
			} else {
				s[i] = float32(rng.NormFloat64())
			}
		}
		return s
	}
	goLoops, asmLoops := New(Config{NoAsm: true}), New(Config{})
	same := func(what string, got, want []float32) {
		t.Helper()
		for i := range want {
			nans := got[i] != got[i] && want[i] != want[i] // any NaN for a NaN
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !nans {
				t.Fatalf("%s: element %d is %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
	t.Logf("assembly loops on this platform: %v", asmLoops.rectifyAsm)
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 64, 1000} {
		x, dy := data(n), data(n)
		want, got := make([]float32, n), make([]float32, n)
		goLoops.RectifyTo(want, x)
		asmLoops.RectifyTo(got, x)
		same(fmt.Sprintf("rectify %d", n), got, want)
		for i := range want {
			if m := max(x[i], 0); math.Float32bits(m) != math.Float32bits(want[i]) && !(m != m && want[i] != want[i]) {
				t.Fatalf("rectify %d: element %d is %v, want max(%v, 0)", n, i, want[i], x[i])
			}
		}
		y := want // a rectifier's output, as the backward pass sees it
		for _, rule := range []struct {
			name string
			y    []float32
			self bool
		}{{"gradient", y, false}, {"deconvnet", nil, true}, {"guided", y, true}} {
			w, g := make([]float32, n), make([]float32, n)
			goLoops.Mask(w, dy, rule.y, rule.self)
			asmLoops.Mask(g, dy, rule.y, rule.self)
			same(fmt.Sprintf("%s backward %d", rule.name, n), g, w)
			for i := range w {
				// A value passes a mask where its int32 bits are > 0:
				// above zero, +Inf, or a NaN with the sign bit clear.
				pos := func(v float32) bool { return int32(math.Float32bits(v)) > 0 }
				keep := (rule.y == nil || pos(rule.y[i])) && (!rule.self || pos(dy[i]))
				want := float32(0)
				if keep {
					want = dy[i]
				}
				if math.Float32bits(w[i]) != math.Float32bits(want) && !(w[i] != w[i] && want != want) {
					t.Fatalf("%s backward %d: element %d is %v, want %v (dy %v, y %v)", rule.name, n, i, w[i], want, dy[i], y[i])
				}
			}
		}
	}
}
