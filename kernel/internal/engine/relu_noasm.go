//go:build !amd64 || purego

package engine

func rectifyFast(_ bool, dst, src []float32) int { return 0 }

func maskFast(_ bool, dx, dy, y []float32, self bool) int { return 0 }
