//go:build !amd64 || purego

package avx512

import "unsafe"

const available = false

// kernel and kernel16 are the Go kernels: the driver is tested on every platform, but
// Implementation only calls it where available is true.
func kernel(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	kernelGo(k, a, rs, ks, b, bs, c, ldc, add)
}

func kernel16(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	kernelGo16(k, a, rs, ks, b, bs, c, ldc, add)
}

func addrOf(s []float32) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }

func transpose16(dst *float32, ds int, src *float32, ss int) {
	transpose16Go(dst, ds, src, ss)
}
