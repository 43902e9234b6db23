//go:build amd64 && !purego

package engine

// The rectifier loops run in AVX2 assembly where the CPU has it
// (Engine.rectifyAsm), 8 values to an instruction: Go does not vectorise
// them, and they pass over every activation (9% of a batched forward pass
// before).

// rectify8 sets dst[i] = max(src[i], 0) for i < n, n a multiple of 8,
// exactly as the builtin max: NaN stays (the compare is "not ≤ 0"), −0
// becomes +0. dst may be src.
//
//go:noescape
func rectify8(dst, src *float32, n int)

// mask8 sets dx[i] = dy[i] where int32 bits of every given mask source are
// > 0 (a float above zero, as positive() reads it), else +0, for i < n, n a
// multiple of 8. The sources are y (nil: none) and dy itself if self.
//
//go:noescape
func mask8(dx, dy, y *float32, self bool, n int)

// rectifyFast sets dst to src rectified over the longest prefix of src that
// the assembly handles and returns its length.
func rectifyFast(asm bool, dst, src []float32) int {
	n := len(src) &^ 7
	if !asm || n == 0 {
		return 0
	}
	dst = dst[:n]
	rectify8(&dst[0], &src[0], n)
	return n
}

// maskFast is the zero-slope rectifier's backward pass (a mask of dy by
// y > 0 and, if self, by dy > 0; y nil: no y) over the longest prefix the
// assembly handles; it returns its length.
func maskFast(asm bool, dx, dy, y []float32, self bool) int {
	n := len(dy) &^ 7
	if !asm || n == 0 {
		return 0
	}
	dx, y = dx[:n], y[:min(len(y), n)]
	var py *float32
	if y != nil {
		py = &y[0]
	}
	mask8(&dx[0], &dy[0], py, self, n)
	return n
}
