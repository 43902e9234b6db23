package avx512

import "unsafe"

// kernelGo and kernelGo16 are the micro-kernels in Go, with the arguments
// and results of kernel and kernel16: the reference that the tests hold the
// assembly to, and what they run the blocking and packing on where the
// assembly cannot run.
func kernelGo(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	kernelGoN(nr, k, a, rs, ks, b, bs, c, ldc, add)
}

func kernelGo16(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	kernelGoN(16, k, a, rs, ks, b, bs, c, ldc, add)
}

// kernelGoN is the 12×n micro-kernel in Go.
func kernelGoN(n, k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
	var sum [mr * nr]float32
	for p := range k {
		brow := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(b), p*bs)), n)
		for r := range mr {
			av := *(*float32)(unsafe.Add(unsafe.Pointer(a), r*rs+p*ks))
			acc := sum[r*nr : r*nr+nr]
			for j, bv := range brow {
				acc[j] += av * bv
			}
		}
	}
	cs := unsafe.Slice(c, (mr-1)*ldc+n)
	for r := range mr {
		row := cs[r*ldc : r*ldc+n]
		for j := range row {
			if add {
				row[j] += sum[r*nr+j]
			} else {
				row[j] = sum[r*nr+j]
			}
		}
	}
}

// transpose16Go is transpose16 in Go.
func transpose16Go(dst *float32, ds int, src *float32, ss int) {
	for r := range 16 {
		row := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(src), r*ss)), 16)
		for c, v := range row {
			*(*float32)(unsafe.Add(unsafe.Pointer(dst), c*ds+4*r)) = v
		}
	}
}
