package kernel

// Conv2D is a 2-D convolution (cross-correlation, as in every deep-learning
// framework) with a square kernel, equal stride and zero padding on both
// axes, and a bias per output channel. Weights are [out][in][k][k].
//
// Forward lowers each example to a matrix with im2col and multiplies it by
// the weights with one GEMM; 1×1 convolutions with stride 1 skip im2col.
// Backward uses the transposed products and col2im (the adjoint of im2col).
type Conv2D struct {
	spec                 LayerSpec
	InC, OutC, K, S, Pad int
	Weight, Bias         *Param

	x, y, dx *Tensor
	col      []float32
}

// NewConv2D makes a convolution layer with zero weights.
func NewConv2D(name string, in, out, k, stride, pad int) *Conv2D {
	if stride == 0 {
		stride = 1
	}
	return &Conv2D{
		spec: LayerSpec{Type: TypeConv, Name: name, Out: out, Kernel: k, Stride: stride, Pad: pad},
		InC:  in, OutC: out, K: k, S: stride, Pad: pad,
		Weight: newParam(name+".weight", out, in, k, k),
		Bias:   newParam(name+".bias", out),
	}
}

func (l *Conv2D) Spec() LayerSpec  { return l.spec }
func (l *Conv2D) Params() []*Param { return []*Param{l.Weight, l.Bias} }
func (l *Conv2D) pointwise() bool  { return l.K == 1 && l.S == 1 && l.Pad == 0 }
func (l *Conv2D) outHW(h, w int) (int, int) {
	return ConvOut(h, l.K, l.S, l.Pad), ConvOut(w, l.K, l.S, l.Pad)
}

func (l *Conv2D) Forward(x *Tensor, train bool) *Tensor {
	n, h, w := x.N(), x.H(), x.W()
	oh, ow := l.outHW(h, w)
	p, kk := oh*ow, l.InC*l.K*l.K
	l.x = x
	l.y = reuse(l.y, n, l.OutC, oh, ow)
	if !l.pointwise() && len(l.col) < kk*p {
		l.col = make([]float32, kk*p)
	}
	for i := 0; i < n; i++ {
		xi, yi := x.Example(i), l.y.Example(i)
		col := xi
		if !l.pointwise() {
			col = l.col[:kk*p]
			im2col(xi, l.InC, h, w, l.K, l.S, l.Pad, oh, ow, col)
		}
		for o, b := range l.Bias.Data {
			row := yi[o*p : (o+1)*p]
			for j := range row {
				row[j] = b
			}
		}
		gemm(false, false, l.OutC, p, kk, 1, l.Weight.Data, kk, col, p, 1, yi, p)
	}
	return l.y
}

func (l *Conv2D) Backward(dy *Tensor, ps Pass) *Tensor {
	x := l.x
	n, h, w := x.N(), x.H(), x.W()
	oh, ow := l.outHW(h, w)
	p, kk := oh*ow, l.InC*l.K*l.K
	if ps.Input {
		l.dx = reuse(l.dx, x.Shape...)
	}
	for i := 0; i < n; i++ {
		xi, dyi := x.Example(i), dy.Example(i)
		if ps.Params {
			col := xi
			if !l.pointwise() {
				col = l.col[:kk*p]
				im2col(xi, l.InC, h, w, l.K, l.S, l.Pad, oh, ow, col)
			}
			// dW += dy·colᵀ, db += Σ dy
			gemm(false, true, l.OutC, kk, p, 1, dyi, p, col, p, 1, l.Weight.Grad, kk)
			for o := range l.Bias.Grad {
				var s float32
				for _, v := range dyi[o*p : (o+1)*p] {
					s += v
				}
				l.Bias.Grad[o] += s
			}
		}
		if ps.Input {
			dxi := l.dx.Example(i)
			if l.pointwise() {
				gemm(true, false, kk, p, l.OutC, 1, l.Weight.Data, kk, dyi, p, 0, dxi, p)
				continue
			}
			col := l.col[:kk*p]
			gemm(true, false, kk, p, l.OutC, 1, l.Weight.Data, kk, dyi, p, 0, col, p)
			col2im(col, l.InC, h, w, l.K, l.S, l.Pad, oh, ow, dxi)
		}
	}
	if !ps.Input {
		return nil
	}
	return l.dx
}

// im2col writes the (c·k·k)×(oh·ow) matrix whose column j holds the input
// patch seen by output pixel j, zero where the patch leaves the image.
func im2col(x []float32, c, h, w, k, s, pad, oh, ow int, col []float32) {
	p := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		plane := x[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				dst := col[row*p : (row+1)*p]
				row++
				for y := 0; y < oh; y++ {
					iy := y*s - pad + ki
					d := dst[y*ow : (y+1)*ow]
					if iy < 0 || iy >= h {
						zero(d)
						continue
					}
					src := plane[iy*w : (iy+1)*w]
					ix := kj - pad
					for xo := range d {
						if ix >= 0 && ix < w {
							d[xo] = src[ix]
						} else {
							d[xo] = 0
						}
						ix += s
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it sums each column entry back into the
// input pixel it was copied from. dx is overwritten.
func col2im(col []float32, c, h, w, k, s, pad, oh, ow int, dx []float32) {
	zero(dx)
	p := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		plane := dx[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				src := col[row*p : (row+1)*p]
				row++
				for y := 0; y < oh; y++ {
					iy := y*s - pad + ki
					if iy < 0 || iy >= h {
						continue
					}
					d := plane[iy*w : (iy+1)*w]
					ix := kj - pad
					for _, v := range src[y*ow : (y+1)*ow] {
						if ix >= 0 && ix < w {
							d[ix] += v
						}
						ix += s
					}
				}
			}
		}
	}
}
