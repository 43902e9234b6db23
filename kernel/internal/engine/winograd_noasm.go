//go:build !amd64 || purego

package engine

func winogradInput4x8(dst *float32, ldd int, src *float32, stride int, off *[8]int) {
	panic("kernel: no assembly Winograd transforms on this platform")
}

func winogradOutput4x8(dst *float32, stride int, off *[8]int, src *float32, lds int, bias float32, rectify bool) {
	panic("kernel: no assembly Winograd transforms on this platform")
}

func winogradGradOutput4x8(dst *float32, ldd int, src *float32, stride int, off *[8]int) {
	panic("kernel: no assembly Winograd transforms on this platform")
}

func winogradInputAdjoint4x8(dst *float32, stride int, off *[8]int, src *float32, lds int) {
	panic("kernel: no assembly Winograd transforms on this platform")
}

func winogradInput4x16(dst *float32, ldd int, src *float32, stride int, off *[16]int, scratch *[576]float32) {
	panic("kernel: no assembly Winograd transforms on this platform")
}

func winogradOutput4x16(dst *float32, stride int, off *[16]int, src *float32, lds int, bias float32, rectify bool, scratch *[384]float32) {
	panic("kernel: no assembly Winograd transforms on this platform")
}

func winogradInputAdjoint4x16(dst *float32, stride int, off *[16]int, src *float32, lds int, scratch *[576]float32) {
	panic("kernel: no assembly Winograd transforms on this platform")
}
