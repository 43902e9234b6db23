package engine

import "math"

// The element loops of the rectifier and of batch normalisation: assembly
// over the longest prefix the CPU allows (the *_amd64.s files), Go for the
// rest and everywhere else.

// RectifyTo sets dst[i] = max(src[i], 0), as the builtin max does (NaN
// stays, −0 becomes +0); dst may be src.
func (e *Engine) RectifyTo(dst, src []float32) {
	k := rectifyFast(e.rectifyAsm, dst, src)
	dst, src = dst[k:len(src)], src[k:]
	for i, v := range src {
		dst[i] = rectified(v)
	}
}

// positive is all ones where the float32 with bits u is greater than zero,
// else zero: a mask that selects without a branch (a data-dependent branch
// mispredicts on half of a rectifier's inputs, which made the loops 5× slower).
func positive(u uint32) uint32 { return uint32(-int64(int32(u)) >> 63) }

// Mask sets dx[i] = dy[i] where y[i] > 0 (unless y is nil) and, if self,
// dy[i] > 0; else +0: the backward pass of the plain rectifier under the
// paper's three rules (gradient: y; deconvnet: self; guided: both).
func (e *Engine) Mask(dx, dy, y []float32, self bool) {
	dx = dx[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	k := maskFast(e.rectifyAsm, dx, dy, y, self)
	dy, dx = dy[k:], dx[k:]
	switch {
	case y == nil && !self:
		copy(dx, dy)
	case y != nil && !self:
		for i, g := range dy {
			dx[i] = math.Float32frombits(math.Float32bits(g) & positive(math.Float32bits(y[k+i])))
		}
	case y == nil:
		for i, g := range dy {
			u := math.Float32bits(g)
			dx[i] = math.Float32frombits(u & positive(u))
		}
	default:
		for i, g := range dy {
			u := math.Float32bits(g)
			dx[i] = math.Float32frombits(u & positive(u) & positive(math.Float32bits(y[k+i])))
		}
	}
}

// Rectifier is the backward pass of a plain rectifier below a layer, for
// the layer's input gradient to apply to each channel as it finishes it,
// while the channel is in cache, instead of a pass of its own after the
// layer's: Mask's y and self, y laid out as the gradient.
type Rectifier struct {
	Y    []float32 // the rectifier's output; nil: no [y > 0] factor
	Self bool      // the signal's own sign too
}

// Apply masks dx[lo:hi] in place as Mask(dx, dx, y, self) would; a nil r
// leaves it as it is.
func (r *Rectifier) Apply(e *Engine, dx []float32, lo, hi int) {
	if r == nil {
		return
	}
	var y []float32
	if r.Y != nil {
		y = r.Y[lo:hi]
	}
	e.Mask(dx[lo:hi], dx[lo:hi], y, r.Self)
}

// Affine sets dst[i] = a·x[i] + b, rectified if relu.
func (e *Engine) Affine(dst, x []float32, a, b float32, relu bool) {
	k := affineFast(e.affineAsm, dst, x, a, b, relu)
	dst, x = dst[k:], x[k:len(dst)]
	if relu {
		for i, v := range x {
			dst[i] = rectified(a*v + b)
		}
		return
	}
	for i, v := range x {
		dst[i] = a*v + b
	}
}

// Affine2 sets dst[i] = a·x[i] + c·z[i] + b.
func (e *Engine) Affine2(dst, x, z []float32, a, c, b float32) {
	k := affine2Fast(e.affineAsm, dst, x, z, a, c, b)
	dst, x, z = dst[k:], x[k:len(dst)], z[k:len(dst)]
	for i, v := range x {
		dst[i] = a*v + c*z[i] + b
	}
}

// Im2colPhase is Im2col (same arguments) for stride s ≥ 2, through phase
// planes kept in buf (PhaseFloats(c1, h, w, s) floats; channel ci uses its
// own part, so goroutines with disjoint channels can share it).
func (e *Engine) Im2colPhase(x []float32, c0, c1, h, w, k, s, pad, oh, ow int, col []float32, ld, off int, buf []float32) {
	im2colPhase(e.phaseAsm, x, c0, c1, h, w, k, s, pad, oh, ow, col, ld, off, buf)
}

// Im2colPhaseRows is Im2colRows for stride s ≥ 2, through phase planes in
// buf, as Im2colPhase.
func (e *Engine) Im2colPhaseRows(x []float32, c0, c1, h, w, k, s, pad, y0, y1, ow int, col []float32, ld, off int, buf []float32) {
	im2colPhaseRows(e.phaseAsm, x, c0, c1, h, w, k, s, pad, y0, y1, ow, col, ld, off, buf)
}

// PhaseFloats is the buffer Im2colPhase needs for c channels.
func PhaseFloats(c, h, w, s int) int { return phaseFloats(c, h, w, s) }
