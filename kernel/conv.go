package kernel

import (
	"runtime"
	"sync"
)

// Conv2D is a 2-D convolution (cross-correlation, as in every deep-learning
// framework) with a square kernel, equal stride and zero padding on both
// axes, and a bias per output channel. Weights are [out][in][k][k].
//
// Forward lowers a chunk of examples to one matrix with im2col (the patch
// of output pixel p of example j is column j·P+p) and multiplies it by the
// weights with one GEMM, so that the 6×6 and 8×8 maps of the paper's upper
// layers still make products wide enough for a BLAS to run near peak.
// Backward uses the transposed products and col2im (the adjoint of im2col).
type Conv2D struct {
	spec                 LayerSpec
	InC, OutC, K, S, Pad int
	Weight, Bias         *Param

	x, y, dx *Tensor
	col, out []float32 // chunk buffers: K·K·InC × cols, OutC × cols
}

// chunkFloats bounds the im2col buffer of one chunk (16 MiB of float32); a
// variable so that tests can force many small chunks.
var chunkFloats = 4 << 20

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

// geometry of one call: output size, pixels per example, rows of im2col,
// examples per chunk.
type convGeom struct{ n, h, w, oh, ow, p, kk, chunk int }

func (l *Conv2D) geom(x *Tensor) convGeom {
	g := convGeom{n: x.N(), h: x.H(), w: x.W()}
	g.oh, g.ow = ConvOut(g.h, l.K, l.S, l.Pad), ConvOut(g.w, l.K, l.S, l.Pad)
	g.p, g.kk = g.oh*g.ow, l.InC*l.K*l.K
	g.chunk = max(1, min(g.n, chunkFloats/(g.kk*g.p)))
	return g
}

func (l *Conv2D) buffers(g convGeom) {
	if cols := g.chunk * g.p; len(l.col) < g.kk*cols || len(l.out) < l.OutC*cols {
		l.col = make([]float32, g.kk*cols)
		l.out = make([]float32, l.OutC*cols)
	}
}

// lower writes examples [n0, n0+nb) of x as im2col columns of l.col.
func (l *Conv2D) lower(x *Tensor, g convGeom, n0, nb int) []float32 {
	cols := nb * g.p
	col := l.col[:g.kk*cols]
	parallel(nb, func(j int) {
		im2col(x.Example(n0+j), l.InC, g.h, g.w, l.K, l.S, l.Pad, g.oh, g.ow, col, cols, j*g.p)
	})
	return col
}

// gather copies examples [n0, n0+nb) of t (C×P each) into the chunk layout
// C × (nb·P) of buf; scatter is its inverse.
func gather(t *Tensor, c, p, n0, nb int, buf []float32) []float32 {
	cols := nb * p
	buf = buf[:c*cols]
	parallel(nb, func(j int) {
		src := t.Example(n0 + j)
		for ch := 0; ch < c; ch++ {
			copy(buf[ch*cols+j*p:ch*cols+(j+1)*p], src[ch*p:(ch+1)*p])
		}
	})
	return buf
}

func scatter(buf []float32, c, p, n0, nb int, t *Tensor) {
	cols := nb * p
	parallel(nb, func(j int) {
		dst := t.Example(n0 + j)
		for ch := 0; ch < c; ch++ {
			copy(dst[ch*p:(ch+1)*p], buf[ch*cols+j*p:ch*cols+(j+1)*p])
		}
	})
}

func (l *Conv2D) Forward(x *Tensor, train bool) *Tensor {
	g := l.geom(x)
	l.x = x
	l.y = reuse(l.y, g.n, l.OutC, g.oh, g.ow)
	l.buffers(g)
	for n0 := 0; n0 < g.n; n0 += g.chunk {
		nb := min(g.chunk, g.n-n0)
		cols := nb * g.p
		col := l.lower(x, g, n0, nb)
		out := l.out[:l.OutC*cols]
		for o, b := range l.Bias.Data {
			row := out[o*cols : (o+1)*cols]
			for j := range row {
				row[j] = b
			}
		}
		gemm(false, false, l.OutC, cols, g.kk, 1, l.Weight.Data, g.kk, col, cols, 1, out, cols)
		scatter(out, l.OutC, g.p, n0, nb, l.y)
	}
	return l.y
}

func (l *Conv2D) Backward(dy *Tensor, ps Pass) *Tensor {
	x := l.x
	g := l.geom(x)
	if ps.Input {
		l.dx = reuse(l.dx, x.Shape...)
	}
	for n0 := 0; n0 < g.n; n0 += g.chunk {
		nb := min(g.chunk, g.n-n0)
		cols := nb * g.p
		d := gather(dy, l.OutC, g.p, n0, nb, l.out)
		if ps.Params {
			// dW += dy·colᵀ, db += Σ dy
			col := l.lower(x, g, n0, nb)
			gemm(false, true, l.OutC, g.kk, cols, 1, d, cols, col, cols, 1, l.Weight.Grad, g.kk)
			for o := range l.Bias.Grad {
				var s float32
				for _, v := range d[o*cols : (o+1)*cols] {
					s += v
				}
				l.Bias.Grad[o] += s
			}
		}
		if ps.Input {
			// dcol = Wᵀ·dy, then col2im back to the input layout.
			col := l.col[:g.kk*cols]
			gemm(true, false, g.kk, cols, l.OutC, 1, l.Weight.Data, g.kk, d, cols, 0, col, cols)
			parallel(nb, func(j int) {
				col2im(col, l.InC, g.h, g.w, l.K, l.S, l.Pad, g.oh, g.ow, cols, j*g.p, l.dx.Example(n0+j))
			})
		}
	}
	if !ps.Input {
		return nil
	}
	return l.dx
}

// im2col writes the (c·k·k) rows of one example's patches into col, a matrix
// with ld columns, starting at column off: column off+j holds the input
// patch seen by output pixel j, zero where the patch leaves the image.
func im2col(x []float32, c, h, w, k, s, pad, oh, ow int, col []float32, ld, off int) {
	p := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		plane := x[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				dst := col[row*ld+off : row*ld+off+p]
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
					if s == 1 && ix >= 0 && ix+ow <= w {
						copy(d, src[ix:ix+ow])
						continue
					}
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
func col2im(col []float32, c, h, w, k, s, pad, oh, ow, ld, off int, dx []float32) {
	zero(dx)
	p := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		plane := dx[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				src := col[row*ld+off : row*ld+off+p]
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

// parallel calls f(0..n-1), split over GOMAXPROCS goroutines (serially
// where there is one, as in WebAssembly).
func parallel(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}(w)
	}
	wg.Wait()
}
