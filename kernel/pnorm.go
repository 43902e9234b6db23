package kernel

import (
	"math"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// PNorm is p-norm subsampling, the paper's Eq. 1 (NOTES.md §1): each output is the
// p-norm of a K×K window of its channel, taken with stride S,
//
//	s = (Σ |f|^p)^(1/p),
//
// over the window's in-bounds inputs (a zero-padding position would add
// |0|^p = 0, so Pad only moves the windows). The output size is a
// max-pool's; Ceil rounds it up. p = 1 sums |f|, K² times average pooling
// of |f|; p = 2 is L2 pooling; as p grows the norm falls towards max |f|,
// which is max-pooling of a rectified input: for n inputs in a window,
// max |f| ≤ s ≤ n^(1/p)·max |f| (p = 64 and a 3×3 window: within 3.5%).
//
// It has no parameters. An architecture file writes it as
//
//	{"type": "pnorm", "name": "pool1", "kernel": 3, "stride": 2, "pad": 1, "p": 2}
//
// where p is finite and at least 1, stride 0 means 1, and "ceil": true
// rounds the output size up as for "maxpool".
//
// Backward, under the pool rule Switches and whatever the rectifiers' rule
// (gradient, deconvnet or guided), each input receives dy·∂s/∂f with
//
//	∂s/∂f = sign(f)·(|f|/s)^(p−1),  0 where f = 0 or s = 0,
//
// the derivative (at f = 0 for p = 1, the subgradient 0). It routes the
// signal by the forward input as a max-pool's switches do, and tends to
// them as p grows. As it sends nothing to inputs that are 0, a rectifier
// right below it passes the same signal under deconvnet as under guided.
// Under NoSwitches, which keeps nothing of the forward pass (Net.Pattern
// runs it on a blank image, where every s is 0), the signal is spread
// evenly over the window's in-bounds inputs, as MaxPool spreads it.
//
// Numerics: each window is scaled by its largest |f|, m, before powering,
// s = m·(Σ (|f|/m)^p)^(1/p), in float64, so that whatever p and the
// magnitudes no power overflows and only negligible terms underflow:
// every term lies in [0, 1] and the sum in [1, K²]. The backward pass
// raises |f|/s ≤ 1 to the p−1 with the float64 s kept from the forward
// pass. Each window element costs a math.Pow, so the layer spreads its
// planes over the net's goroutines (Options.Threads).
type PNorm struct {
	spec      LayerSpec
	K, S, Pad int
	Ceil      bool
	P         float32

	x     *Tensor   // the last forward input
	norm  []float64 // s of each output of the last forward pass
	y, dx *Tensor
	eng   *engine.Engine
}

// NewPNorm makes a p-norm subsampling layer with exponent p ≥ 1.
func NewPNorm(name string, k, stride, pad int, ceil bool, p float32) *PNorm {
	if stride == 0 {
		stride = 1
	}
	return &PNorm{spec: LayerSpec{Type: TypePNorm, Name: name, Kernel: k, Stride: stride, Pad: pad, Ceil: ceil, P: p},
		K: k, S: stride, Pad: pad, Ceil: ceil, P: p, eng: defaultEngine}
}

func (l *PNorm) Spec() LayerSpec  { return l.spec }
func (l *PNorm) Params() []*Param { return nil }

// window is the clipped input range [lo, hi) of output index o along an axis of size n.
func (l *PNorm) window(o, n int) (lo, hi int) {
	lo = o*l.S - l.Pad
	hi = min(lo+l.K, n)
	return max(lo, 0), hi
}

// planes calls f(plane) for every plane in [0, n), spread over goroutines
// when there are enough window elements (outputs·K² math.Pow calls) to
// repay them. Planes are independent, so the result does not depend on
// the split.
func (l *PNorm) planes(n, outputs int, f func(plane int)) {
	l.eng.Parts(n, outputs*l.K*l.K, 16<<10, func(lo, hi int) {
		for plane := lo; plane < hi; plane++ {
			f(plane)
		}
	})
}

func (l *PNorm) Forward(x *Tensor, train bool) *Tensor {
	n, c, h, w := x.N(), x.C(), x.H(), x.W()
	oh, ow := PoolOut(h, l.K, l.S, l.Pad, l.Ceil), PoolOut(w, l.K, l.S, l.Pad, l.Ceil)
	l.x = x
	l.y = reuse(l.y, n, c, oh, ow)
	if len(l.norm) != len(l.y.Data) {
		l.norm = make([]float64, len(l.y.Data))
	}
	p := float64(l.P)
	l.planes(n*c, len(l.y.Data), func(plane int) {
		src := x.Data[plane*h*w : (plane+1)*h*w]
		out := plane * oh * ow
		for oy := 0; oy < oh; oy++ {
			y0, y1 := l.window(oy, h)
			for ox := 0; ox < ow; ox++ {
				x0, x1 := l.window(ox, w)
				var m float64 // NaN if any input is
				for iy := y0; iy < y1; iy++ {
					for _, v := range src[iy*w+x0 : iy*w+x1] {
						m = max(m, math.Abs(float64(v)))
					}
				}
				s := m // 0 for a window of zeros, +Inf for one holding ±Inf
				if m != 0 && !math.IsInf(m, 1) {
					var sum float64
					for iy := y0; iy < y1; iy++ {
						for _, v := range src[iy*w+x0 : iy*w+x1] {
							sum += math.Pow(math.Abs(float64(v))/m, p)
						}
					}
					s = m * math.Pow(sum, 1/p)
				}
				l.norm[out] = s
				l.y.Data[out] = float32(s)
				out++
			}
		}
	})
	return l.y
}

func (l *PNorm) Backward(dy *Tensor, p Pass) *Tensor {
	if !p.Input {
		return nil
	}
	h, w := l.x.H(), l.x.W()
	oh, ow := dy.H(), dy.W()
	l.dx = reuse(l.dx, l.x.Shape...)
	zero(l.dx.Data)
	q := float64(l.P) - 1
	spread := p.Rule.Pool != Switches
	l.planes(dy.N()*dy.C(), len(dy.Data), func(plane int) {
		src := l.x.Data[plane*h*w : (plane+1)*h*w]
		dst := l.dx.Data[plane*h*w : (plane+1)*h*w]
		out := plane * oh * ow
		for oy := 0; oy < oh; oy++ {
			y0, y1 := l.window(oy, h)
			for ox := 0; ox < ow; ox++ {
				x0, x1 := l.window(ox, w)
				g, s := dy.Data[out], l.norm[out]
				out++
				if spread {
					v := g / float32((y1-y0)*(x1-x0))
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							dst[iy*w+ix] += v
						}
					}
					continue
				}
				if g == 0 || s == 0 {
					continue
				}
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						f := float64(src[iy*w+ix])
						if f == 0 {
							continue
						}
						d := math.Copysign(math.Pow(math.Abs(f)/s, q), f)
						dst[iy*w+ix] += float32(float64(g) * d)
					}
				}
			}
		}
	})
	return l.dx
}
