package kernel

import "math"

// ReLU is the rectifier max(x, 0), or the leaky rectifier x > 0 ? x : Slope·x
// when Slope > 0. Its backward pass obeys the pass's ReLURule (paper Fig. 1);
// for the leaky rectifier the rules generalise as: gradient g·f'(x),
// deconvnet f(g) (the activation applied to the signal), guided
// [g > 0]·g·f'(x), with f'(x) = 1 for x > 0 and Slope otherwise.
type ReLU struct {
	spec  LayerSpec
	Slope float32

	y, dx *Tensor

	// fused is set by Net for a rectifier whose input a convolution has
	// already rectified: Forward passes it on as its own output.
	fused bool
}

// NewReLU makes a rectifier; slope 0 is the plain ReLU.
func NewReLU(name string, slope float32) *ReLU {
	s := LayerSpec{Type: TypeReLU, Name: name}
	if slope != 0 {
		s = LayerSpec{Type: TypeLeakyReLU, Name: name, Slope: slope}
	}
	return &ReLU{spec: s, Slope: slope}
}

func (l *ReLU) Spec() LayerSpec  { return l.spec }
func (l *ReLU) Params() []*Param { return nil }

func (l *ReLU) Forward(x *Tensor, train bool) *Tensor {
	if l.fused {
		l.y = x
		return x
	}
	if l.y != nil && cap(l.y.Data) > 0 && cap(x.Data) > 0 && &l.y.Data[:1][0] == &x.Data[:1][0] {
		l.y = nil // a fused pass kept the convolution's output: not ours to write
	}
	l.y = reuse(l.y, x.Shape...)
	a := l.Slope
	elementwise(len(x.Data), func(lo, hi int) {
		y, x := l.y.Data[lo:hi], x.Data[lo:hi]
		if a == 0 {
			rectifyTo(y, x)
			return
		}
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = a * v
			}
		}
	})
	return l.y
}

// Backward reads the sign of the forward input from the output: for a slope
// in [0, 1), y > 0 exactly when x > 0.
func (l *ReLU) Backward(dy *Tensor, p Pass) *Tensor {
	if !p.Input {
		return nil
	}
	l.dx = reuse(l.dx, dy.Shape...)
	rule := p.Rule.ReLU
	if rule != Gradient && rule != Deconvnet && rule != Guided {
		panic("kernel: unknown ReLU rule " + rule.String())
	}
	elementwise(len(dy.Data), func(lo, hi int) {
		l.backward(rule, dy.Data[lo:hi], l.y.Data[lo:hi], l.dx.Data[lo:hi])
	})
	return l.dx
}

// positive is all ones where the float32 with bits u is greater than zero,
// else zero: a mask that selects without a branch (a data-dependent branch
// mispredicts on half of a rectifier's inputs, which made the loops 5× slower).
func positive(u uint32) uint32 { return uint32(-int64(int32(u)) >> 63) }

func (l *ReLU) backward(rule ReLURule, dy, y, dx []float32) {
	a := l.Slope
	y, dx = y[:len(dy)], dx[:len(dy)]
	if a == 0 {
		// The assembly does a prefix; the loops below finish it.
		var k int
		switch rule {
		case Gradient:
			k = maskFast(dx, dy, y, false)
		case Deconvnet:
			k = maskFast(dx, dy, nil, true)
		case Guided:
			k = maskFast(dx, dy, y, true)
		}
		dy, y, dx = dy[k:], y[k:], dx[k:]
		switch rule {
		case Gradient:
			for i, g := range dy {
				dx[i] = math.Float32frombits(math.Float32bits(g) & positive(math.Float32bits(y[i])))
			}
		case Deconvnet:
			for i, g := range dy {
				u := math.Float32bits(g)
				dx[i] = math.Float32frombits(u & positive(u))
			}
		case Guided:
			for i, g := range dy {
				u := math.Float32bits(g)
				dx[i] = math.Float32frombits(u & positive(u) & positive(math.Float32bits(y[i])))
			}
		}
		return
	}
	switch rule {
	case Gradient:
		for i, g := range dy {
			if y[i] > 0 {
				dx[i] = g
			} else {
				dx[i] = a * g
			}
		}
	case Deconvnet:
		for i, g := range dy {
			if g > 0 {
				dx[i] = g
			} else {
				dx[i] = a * g
			}
		}
	case Guided:
		for i, g := range dy {
			switch {
			case g <= 0:
				dx[i] = 0
			case y[i] > 0:
				dx[i] = g
			default:
				dx[i] = a * g
			}
		}
	}
}

// rectifyAll sets every element of s to max(element, 0).
func rectifyAll(s []float32) { rectifyTo(s, s) }

// rectifyTo sets dst[i] = max(src[i], 0); dst may be src.
func rectifyTo(dst, src []float32) {
	k := rectifyFast(dst, src)
	dst, src = dst[k:len(src)], src[k:]
	for i, v := range src {
		dst[i] = rectified(v)
	}
}
