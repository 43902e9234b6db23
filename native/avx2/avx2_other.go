//go:build !amd64 || purego

package avx2

const available = false

// kernel, kernel8 and transpose8 are the Go ones: the driver is tested on
// every platform, but Implementation only calls it where available is true.
func kernel(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	kernelGo(k, a, rs, ks, b, bs, c, ldc, add)
}

func kernel8(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	kernelGo8(k, a, rs, ks, b, bs, c, ldc, add)
}

func transpose8(dst *float32, ds int, src *float32, ss int) {
	transpose8Go(dst, ds, src, ss)
}
