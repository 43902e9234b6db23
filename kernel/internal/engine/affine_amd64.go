//go:build amd64 && !purego

package engine

// Batch normalisation's per-channel affine loops run in AVX2 + FMA
// assembly where the CPU has them (Engine.affineAsm), 8 values an
// instruction (Go does not vectorise them; they pass over every normalised
// activation, twice per training step).

//go:noescape
func affine8(dst, x *float32, a, b float32, relu bool, n int)

//go:noescape
func affine2x8(dst, x, z *float32, a, c, b float32, n int)

// affineFast does affine (relu false) or affineReLU over the longest prefix
// of dst that the assembly handles and returns its length.
func affineFast(asm bool, dst, x []float32, a, b float32, relu bool) int {
	n := len(dst) &^ 7
	if !asm || n == 0 {
		return 0
	}
	x = x[:n]
	affine8(&dst[0], &x[0], a, b, relu, n)
	return n
}

// affine2Fast does affine2 over the longest prefix of dst that the
// assembly handles and returns its length.
func affine2Fast(asm bool, dst, x, z []float32, a, c, b float32) int {
	n := len(dst) &^ 7
	if !asm || n == 0 {
		return 0
	}
	x, z = x[:n], z[:n]
	affine2x8(&dst[0], &x[0], &z[0], a, c, b, n)
	return n
}
