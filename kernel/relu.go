package kernel

import "github.com/allcnn/allcnn/kernel/internal/engine"

// ReLU is the rectifier max(x, 0), or the leaky rectifier x > 0 ? x : Slope·x
// when Slope > 0. Its backward pass obeys the pass's ReLURule (paper Fig. 1);
// for the leaky rectifier the rules generalise as: gradient g·f'(x),
// deconvnet f(g) (the activation applied to the signal), guided
// [g > 0]·g·f'(x), with f'(x) = 1 for x > 0 and Slope otherwise.
type ReLU struct {
	spec  LayerSpec
	Slope float32

	y, dx *Tensor
	eng   *engine.Engine
}

// NewReLU makes a rectifier; slope 0 is the plain ReLU.
func NewReLU(name string, slope float32) *ReLU {
	s := LayerSpec{Type: TypeReLU, Name: name}
	if slope != 0 {
		s = LayerSpec{Type: TypeLeakyReLU, Name: name, Slope: slope}
	}
	return &ReLU{spec: s, Slope: slope, eng: defaultEngine}
}

func (l *ReLU) Spec() LayerSpec  { return l.spec }
func (l *ReLU) Params() []*Param { return nil }

// pass takes x, already rectified by the layer before it (a convolution or
// batch normalisation that a Net fused with this rectifier), as its output.
func (l *ReLU) pass(x *Tensor) *Tensor {
	l.y = x
	return x
}

func (l *ReLU) Forward(x *Tensor, train bool) *Tensor {
	if l.y != nil && cap(l.y.Data) > 0 && cap(x.Data) > 0 && &l.y.Data[:1][0] == &x.Data[:1][0] {
		l.y = nil // a fused pass kept the convolution's output: not ours to write
	}
	l.y = reuse(l.y, x.Shape...)
	a := l.Slope
	l.eng.Elementwise(len(x.Data), func(lo, hi int) {
		y, x := l.y.Data[lo:hi], x.Data[lo:hi]
		if a == 0 {
			l.eng.RectifyTo(y, x)
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
	l.eng.Elementwise(len(dy.Data), func(lo, hi int) {
		l.backward(rule, dy.Data[lo:hi], l.y.Data[lo:hi], l.dx.Data[lo:hi])
	})
	return l.dx
}

func (l *ReLU) backward(rule ReLURule, dy, y, dx []float32) {
	a := l.Slope
	y, dx = y[:len(dy)], dx[:len(dy)]
	if a == 0 {
		switch rule {
		case Gradient:
			l.eng.Mask(dx, dy, y, false)
		case Deconvnet:
			l.eng.Mask(dx, dy, nil, true)
		case Guided:
			l.eng.Mask(dx, dy, y, true)
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
