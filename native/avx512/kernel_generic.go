package avx512

import "unsafe"

// kernelGo is the micro-kernel in Go, with kernel's arguments and results:
// the reference that the tests hold the assembly to, and what they run the
// blocking and packing on where the assembly cannot run.
func kernelGo(k int, a *float32, rs, ks int, b, c *float32, ldc int, add bool) {
	var sum [mr * nr]float32
	bs := unsafe.Slice(b, k*nr)
	for p := range k {
		brow := bs[p*nr : p*nr+nr]
		for r := range mr {
			av := *(*float32)(unsafe.Add(unsafe.Pointer(a), r*rs+p*ks))
			acc := sum[r*nr : r*nr+nr]
			for j, bv := range brow {
				acc[j] += av * bv
			}
		}
	}
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	for r := range mr {
		row := cs[r*ldc : r*ldc+nr]
		for j := range row {
			if add {
				row[j] += sum[r*nr+j]
			} else {
				row[j] = sum[r*nr+j]
			}
		}
	}
}
