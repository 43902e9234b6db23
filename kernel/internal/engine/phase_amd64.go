//go:build amd64 && !purego

package engine

// The stride-2 phase split and the strided row copies run in AVX2
// assembly where the CPU has it (Engine.phaseAsm): Go copies them a float,
// or a short row, at a time.

// deinterleave2 is deinterleave for s = 2, an even h and w a multiple of 16
// (phase_amd64.s).
//
//go:noescape
func deinterleave2(planes *float32, pl, pw int, src *float32, w, h int)

// copyRows copies rows rows of n floats, ss floats apart at src, to ds
// floats apart at dst; n is a multiple of 8, rows ≥ 1 (phase_amd64.s).
//
//go:noescape
func copyRows(dst *float32, ds int, src *float32, ss int, rows, n int)

// im2col3s2x16 and im2col3s2x8 lower rows output rows of kernel row ki of
// a 3×3, stride-2, padding-1 convolution from input rows 2y−1+ki (src, then
// 2w floats on) to col rows dst, dst+ld, dst+2ld (kernel columns 0, 1, 2):
// outputs 16 and 8 wide (w = 32, 16); AVX-512F (phase512_amd64.s).
//
//go:noescape
func im2col3s2x16(dst *float32, ld int, src *float32, w int, rows int)

//go:noescape
func im2col3s2x8(dst *float32, ld int, src *float32, w int, rows int)

// im2col3s2x16avx2 and im2col3s2x8avx2 are im2col3s2x16 and im2col3s2x8
// with AVX2 (phase_amd64.s).
//
//go:noescape
func im2col3s2x16avx2(dst *float32, ld int, src *float32, w int, rows int)

//go:noescape
func im2col3s2x8avx2(dst *float32, ld int, src *float32, w int, rows int)
