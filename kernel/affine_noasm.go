//go:build !amd64 || purego

package kernel

// affineAsm is false: no assembly affine loops on this platform (see
// affine_amd64.go).
var affineAsm = false

func affineFast(dst, x []float32, a, b float32, relu bool) int { return 0 }

func affine2Fast(dst, x, z []float32, a, c, b float32) int { return 0 }
