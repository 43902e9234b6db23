package engine

import (
	"math"
	"testing"
)

// TestReLUValues: rectified is the builtin max(v, 0) bit for bit, in every build
// (the wasm build computes it with integer operations).
func TestReLUValues(t *testing.T) {
	nan := float32(math.NaN())
	for _, v := range []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), nan, -nan, 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32} {
		got, want := rectified(v), max(v, 0)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("rectified(%v) = %v (%#x), want %v (%#x)", v, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}
