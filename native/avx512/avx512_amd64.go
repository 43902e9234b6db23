//go:build amd64 && !purego

package avx512

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

var available = cpu.X86.HasAVX512F

// kernel is the 12×32 micro-kernel (kernel_amd64.s): c = a·b, or c += a·b
// if add, for a a 12×k block whose element (r, p) lies r·rs + p·ks bytes
// past a, b k rows of 32 floats bs bytes apart (a packed panel, or columns
// of a row-major matrix), and c row-major with ldc floats to a row; k ≥ 1.
//
//go:noescape
func kernel(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool)

// kernel16 is kernel for 16 columns of B and C (12×16 tiles).
//
//go:noescape
func kernel16(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool)

// transpose16 writes the transpose of the 16×16 block at src, whose rows are
// ss bytes apart, to dst, with rows ds bytes apart (kernel_amd64.s).
//
//go:noescape
func transpose16(dst *float32, ds int, src *float32, ss int)
