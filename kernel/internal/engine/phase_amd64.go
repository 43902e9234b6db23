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
