package format

import "math"

// IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction
// bits. Its largest finite value is 65504, its smallest subnormal 2⁻²⁴.

// f32ToF16 rounds f to the nearest binary16 value, ties to even (the IEEE
// 754 default). ok is false when f is NaN or ±Inf or rounds to ±Inf, that is
// |f| ≥ 65520.
func f32ToF16(f float32) (h uint16, ok bool) {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e := int(b>>23) & 0xff
	if e == 0xff {
		return 0, false
	}
	// m is the significand with its implicit leading bit: |f| = m·2^(e−150).
	// float32 subnormals (e == 0) are far below binary16's range and round
	// to zero through the subnormal branch.
	m := b & 0x7fffff
	if e != 0 {
		m |= 0x800000
	}
	he := e - 127 + 15 // binary16 biased exponent, if f is normal there
	if he >= 1 {
		// Normal: keep 10 fraction bits. A carry out of the fraction when
		// rounding up increments the exponent, as it should.
		v := uint32(he)<<10 | (m>>13)&0x3ff
		v = roundHalfEven(v, m&0x1fff, 13)
		if v >= 0x7c00 {
			return 0, false
		}
		return sign | uint16(v), true
	}
	// Subnormal or zero: |f| = q·2⁻²⁴ with q = m·2^(e−126) = m >> (14−he).
	s := uint(14 - he)
	if s > 24 {
		return sign, true // below half the smallest subnormal
	}
	v := roundHalfEven(m>>s, m&(1<<s-1), s)
	return sign | uint16(v), true // v may reach 0x400, the smallest normal
}

// roundHalfEven rounds q, the part kept of a value shifted right by s bits,
// given rem, the s bits shifted out.
func roundHalfEven(q, rem uint32, s uint) uint32 {
	half := uint32(1) << (s - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return q
}

// f16ToF32 converts a binary16 value to float32, exactly. ok is false for
// ±Inf and NaN.
func f16ToF32(h uint16) (f float32, ok bool) {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1f
	m := uint32(h & 0x3ff)
	switch e {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | m<<13), false
	case 0: // zero or subnormal: m·2⁻²⁴, a normal float32
		return math.Float32frombits(sign | math.Float32bits(float32(m)*0x1p-24)), true
	}
	return math.Float32frombits(sign | (e+127-15)<<23 | m<<13), true
}
