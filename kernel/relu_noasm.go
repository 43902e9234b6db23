//go:build !amd64 || purego

package kernel

// reluAsm is false: no assembly rectifier loops on this platform (see
// relu_amd64.go).
var reluAsm = false

func rectifyFast(dst, src []float32) int { return 0 }

func maskFast(dx, dy, y []float32, self bool) int { return 0 }
