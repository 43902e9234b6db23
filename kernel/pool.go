package kernel

import "math"

// MaxPool takes the maximum over K×K windows with stride S and padding Pad
// (padding never wins), recording the winner of each window ("switches").
// With Ceil the output size rounds up as in Caffe.
type MaxPool struct {
	spec      LayerSpec
	K, S, Pad int
	Ceil      bool
	inShape   []int
	switches  []int32
	y, dx     *Tensor
}

// NewMaxPool makes a max-pooling layer.
func NewMaxPool(name string, k, stride, pad int, ceil bool) *MaxPool {
	if stride == 0 {
		stride = 1
	}
	return &MaxPool{spec: LayerSpec{Type: TypeMaxPool, Name: name, Kernel: k, Stride: stride, Pad: pad, Ceil: ceil},
		K: k, S: stride, Pad: pad, Ceil: ceil}
}

func (l *MaxPool) Spec() LayerSpec  { return l.spec }
func (l *MaxPool) Params() []*Param { return nil }

// window is the clipped input range [lo, hi) of output index o along an axis of size n.
func (l *MaxPool) window(o, n int) (lo, hi int) {
	lo = o*l.S - l.Pad
	hi = min(lo+l.K, n)
	return max(lo, 0), hi
}

func (l *MaxPool) Forward(x *Tensor, train bool) *Tensor {
	n, c, h, w := x.N(), x.C(), x.H(), x.W()
	oh, ow := PoolOut(h, l.K, l.S, l.Pad, l.Ceil), PoolOut(w, l.K, l.S, l.Pad, l.Ceil)
	l.inShape = append(l.inShape[:0], x.Shape...)
	l.y = reuse(l.y, n, c, oh, ow)
	if len(l.switches) != len(l.y.Data) {
		l.switches = make([]int32, len(l.y.Data))
	}
	out := 0
	for plane := 0; plane < n*c; plane++ {
		src := x.Data[plane*h*w : (plane+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			y0, y1 := l.window(oy, h)
			for ox := 0; ox < ow; ox++ {
				x0, x1 := l.window(ox, w)
				best, arg := float32(math.Inf(-1)), -1
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						if v := src[iy*w+ix]; v > best || arg < 0 {
							best, arg = v, iy*w+ix
						}
					}
				}
				l.y.Data[out] = best
				l.switches[out] = int32(plane*h*w + arg)
				out++
			}
		}
	}
	return l.y
}

func (l *MaxPool) Backward(dy *Tensor, p Pass) *Tensor {
	if !p.Input {
		return nil
	}
	l.dx = reuse(l.dx, l.inShape...)
	zero(l.dx.Data)
	if p.Rule.Pool == Switches {
		for i, g := range dy.Data {
			l.dx.Data[l.switches[i]] += g
		}
		return l.dx
	}
	h, w := l.inShape[2], l.inShape[3]
	oh, ow := dy.H(), dy.W()
	for plane := 0; plane < dy.N()*dy.C(); plane++ {
		dst := l.dx.Data[plane*h*w : (plane+1)*h*w]
		g := dy.Data[plane*oh*ow : (plane+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			y0, y1 := l.window(oy, h)
			for ox := 0; ox < ow; ox++ {
				x0, x1 := l.window(ox, w)
				v := g[oy*ow+ox] / float32((y1-y0)*(x1-x0))
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						dst[iy*w+ix] += v
					}
				}
			}
		}
	}
	return l.dx
}

// GAP is global average pooling: each channel's H×W map becomes its mean.
type GAP struct {
	spec    LayerSpec
	inShape []int
	y, dx   *Tensor
}

// NewGAP makes a global average pooling layer.
func NewGAP(name string) *GAP { return &GAP{spec: LayerSpec{Type: TypeGAP, Name: name}} }

func (l *GAP) Spec() LayerSpec  { return l.spec }
func (l *GAP) Params() []*Param { return nil }

func (l *GAP) Forward(x *Tensor, train bool) *Tensor {
	n, c, hw := x.N(), x.C(), x.H()*x.W()
	l.inShape = append(l.inShape[:0], x.Shape...)
	l.y = reuse(l.y, n, c, 1, 1)
	for i := range l.y.Data {
		var s float32
		for _, v := range x.Data[i*hw : (i+1)*hw] {
			s += v
		}
		l.y.Data[i] = s / float32(hw)
	}
	return l.y
}

func (l *GAP) Backward(dy *Tensor, p Pass) *Tensor {
	if !p.Input {
		return nil
	}
	l.dx = reuse(l.dx, l.inShape...)
	hw := l.inShape[2] * l.inShape[3]
	for i, g := range dy.Data {
		v := g / float32(hw)
		d := l.dx.Data[i*hw : (i+1)*hw]
		for j := range d {
			d[j] = v
		}
	}
	return l.dx
}
