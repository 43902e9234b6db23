package format

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Every finite binary16 value converts to float32 and back to itself; ±Inf
// and NaN are refused both ways.
func TestF16Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f, ok := f16ToF32(h)
		if finite := h&0x7c00 != 0x7c00; ok != finite {
			t.Fatalf("f16ToF32(%#04x) ok = %v", h, ok)
		}
		if !ok {
			if _, ok := f32ToF16(f); ok {
				t.Fatalf("f32ToF16(%v) accepted a non-finite value", f)
			}
			continue
		}
		if back, ok := f32ToF16(f); !ok || back != h {
			t.Fatalf("%#04x → %v → %#04x, %v", h, f, back, ok)
		}
	}
}

func TestF16Rounding(t *testing.T) {
	for _, tc := range []struct {
		f  float32
		h  uint16
		ok bool
	}{
		{1, 0x3c00, true},
		{-2, 0xc000, true},
		{float32(math.Copysign(0, -1)), 0x8000, true},
		{65504, 0x7bff, true},             // largest finite
		{65519.996, 0x7bff, true},         // just below the halfway point to 2¹⁶
		{65520, 0, false},                 // halfway to 2¹⁶, ties to even: Inf
		{-70000, 0, false},                // overflow
		{1e-30, 0, true},                  // underflow to +0
		{-1e-30, 0x8000, true},            // underflow to −0
		{0x1p-24, 0x0001, true},           // smallest subnormal
		{0x1p-25, 0x0000, true},           // halfway to it, ties to even: 0
		{0x1.000002p-25, 0x0001, true},    // just above halfway
		{3 * 0x1p-25, 0x0002, true},       // 1.5 ulp: ties to even, 2
		{0x1p-14 - 0x1p-25, 0x0400, true}, // 1023.5 subnormal ulp: to the smallest normal
		{1 + 0x1p-11, 0x3c00, true},       // halfway, even is down
		{1 + 3*0x1p-11, 0x3c02, true},     // halfway, even is up
		{2047, 0x67ff, true},
		{2049, 0x6800, true}, // halfway between 2048 and 2050: to 2048
		{float32(math.Inf(1)), 0, false},
		{float32(math.NaN()), 0, false},
		{math.SmallestNonzeroFloat32, 0, true},
	} {
		h, ok := f32ToF16(tc.f)
		if ok != tc.ok || ok && h != tc.h {
			t.Errorf("f32ToF16(%v) = %#04x, %v; want %#04x, %v", tc.f, h, ok, tc.h, tc.ok)
		}
	}
}

// f32ToF16 agrees with a slow reference, the nearest value in the sorted
// list of all binary16 values, on random float32s of every magnitude.
func TestF16AgainstReference(t *testing.T) {
	var pos []float64 // non-negative finite binary16 values, increasing with the bits
	for h := uint16(0); h < 0x7c00; h++ {
		f, _ := f16ToF32(h)
		pos = append(pos, float64(f))
	}
	ref := func(x float32) (uint16, bool) {
		a := math.Abs(float64(x))
		if math.IsNaN(a) || a >= 65520 {
			return 0, false
		}
		var sign uint16
		if math.Signbit(float64(x)) {
			sign = 0x8000
		}
		i := sort.SearchFloat64s(pos, a) // first ≥ a
		if i == len(pos) {
			return sign | uint16(i-1), true
		}
		if pos[i] == a || i == 0 {
			return sign | uint16(i), true
		}
		lo, hi := a-pos[i-1], pos[i]-a
		if lo < hi || lo == hi && (i-1)%2 == 0 {
			return sign | uint16(i-1), true
		}
		return sign | uint16(i), true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300000 {
		// Exponents around binary16's range: 2⁻³⁰ … 2¹⁷.
		x := math.Float32frombits(rng.Uint32()&0x807fffff | uint32(97+rng.IntN(48))<<23)
		h, ok := f32ToF16(x)
		wh, wok := ref(x)
		if ok != wok || ok && h != wh {
			t.Fatalf("f32ToF16(%v) = %#04x, %v; reference %#04x, %v", x, h, ok, wh, wok)
		}
	}
}
