//go:build !amd64 || purego

package engine

func deinterleave2(planes *float32, pl, pw int, src *float32, w, h int) {
	panic("kernel: no assembly")
}

func copyRows(dst *float32, ds int, src *float32, ss int, rows, n int) {
	panic("kernel: no assembly")
}

func im2col3s2x16(dst *float32, ld int, src *float32, w int, rows int) {
	panic("kernel: no assembly")
}

func im2col3s2x8(dst *float32, ld int, src *float32, w int, rows int) {
	panic("kernel: no assembly")
}

func im2col3s2x16avx2(dst *float32, ld int, src *float32, w int, rows int) {
	panic("kernel: no assembly")
}

func im2col3s2x8avx2(dst *float32, ld int, src *float32, w int, rows int) {
	panic("kernel: no assembly")
}
