package blocked

import "unsafe"

// GoKernel returns an mr×n micro-kernel in Go: the reference that the
// assembly kernels are tested against, and what the tests run the blocking
// and packing on where the assembly cannot run. Its sums are the products
// added in the order the assembly adds them, so the two differ only where
// a fused multiply-add rounds once instead of twice.
func GoKernel(mr, n int) MicroKernel {
	return func(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool) {
		sum := make([]float32, mr*n)
		for p := range k {
			brow := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(b), p*bs)), n)
			for r := range mr {
				av := *(*float32)(unsafe.Add(unsafe.Pointer(a), r*rs+p*ks))
				acc := sum[r*n : r*n+n]
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
					row[j] += sum[r*n+j]
				} else {
					row[j] = sum[r*n+j]
				}
			}
		}
	}
}

// GoTranspose returns a Transpose of t×t blocks in Go.
func GoTranspose(t int) Transpose {
	return func(dst *float32, ds int, src *float32, ss int) {
		for r := range t {
			row := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(src), r*ss)), t)
			for c, v := range row {
				*(*float32)(unsafe.Add(unsafe.Pointer(dst), c*ds+4*r)) = v
			}
		}
	}
}
