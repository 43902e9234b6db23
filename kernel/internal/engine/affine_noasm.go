//go:build !amd64 || purego

package engine

func affineFast(_ bool, dst, x []float32, a, b float32, relu bool) int { return 0 }

func affine2Fast(_ bool, dst, x, z []float32, a, c, b float32) int { return 0 }
