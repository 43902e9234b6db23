package kernel

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
	run := func(asm bool, f func()) {
		defer func(old bool) { reluAsm = old }(reluAsm)
		reluAsm = asm && reluAsm
		f()
	}
	same := func(what string, got, want []float32) {
		t.Helper()
		for i := range want {
			nans := got[i] != got[i] && want[i] != want[i] // any NaN for a NaN
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !nans {
				t.Fatalf("%s: element %d is %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
	t.Logf("assembly loops on this platform: %v", reluAsm)
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 64, 1000} {
		x, dy := data(n), data(n)
		want, got := make([]float32, n), make([]float32, n)
		run(false, func() { rectifyTo(want, x) })
		run(true, func() { rectifyTo(got, x) })
		same(fmt.Sprintf("rectify %d", n), got, want)
		for i := range want {
			if m := max(x[i], 0); math.Float32bits(m) != math.Float32bits(want[i]) && !(m != m && want[i] != want[i]) {
				t.Fatalf("rectify %d: element %d is %v, want max(%v, 0)", n, i, want[i], x[i])
			}
		}
		y := want // a rectifier's output, as the backward pass sees it
		for _, rule := range []ReLURule{Gradient, Deconvnet, Guided} {
			l := NewReLU("r", 0)
			w, g := make([]float32, n), make([]float32, n)
			run(false, func() { l.backward(rule, dy, y, w) })
			run(true, func() { l.backward(rule, dy, y, g) })
			same(fmt.Sprintf("%v backward %d", rule, n), g, w)
		}
	}
}
