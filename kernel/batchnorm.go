package kernel

import (
	"math"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// Defaults of a batch-normalisation layer, PyTorch's BatchNorm2d's.
const (
	DefaultBNEps      = 1e-5
	DefaultBNMomentum = 0.1
)

// BatchNorm is batch normalisation over the channels of a [N, C, H, W]
// tensor (Ioffe and Szegedy 2015): y = γ·(x − μ)/√(σ² + ε) + β per channel.
// In training μ and σ² are the batch's (over N·H·W values, σ² biased), and
// the running averages are moved towards them by Momentum (with the
// unbiased σ², as PyTorch does); in evaluation the running averages are
// used, which makes the layer a per-channel affine map that FoldBatchNorm
// merges into the convolution before it.
//
// It is a training aid: the paper's nets have none, and the trainer folds
// every one away before it writes a model (RATIONALE.md).
type BatchNorm struct {
	spec          LayerSpec
	Eps, Momentum float32
	Weight, Bias  *Param // γ, β
	Mean, Var     *Param // running statistics: state, not learned (Buffers)

	x, y, dx *Tensor
	// What Backward needs of the last forward pass: whether it used the
	// batch's statistics, and the μ and 1/√(σ²+ε) it used per channel.
	train      bool
	mean, istd []float32

	eng *engine.Engine
}

// NewBatchNorm makes a batch-normalisation layer over c channels with γ = 1,
// β = 0, running mean 0 and running variance 1. eps or momentum 0 mean the
// defaults.
func NewBatchNorm(name string, c int, eps, momentum float32) *BatchNorm {
	if eps == 0 {
		eps = DefaultBNEps
	}
	if momentum == 0 {
		momentum = DefaultBNMomentum
	}
	l := &BatchNorm{
		spec:   LayerSpec{Type: TypeBatchNorm, Name: name, Eps: eps, Momentum: momentum},
		Eps:    eps,
		Weight: newParam(name+".weight", c), Bias: newParam(name+".bias", c),
		Mean: newParam(name+".running_mean", c), Var: newParam(name+".running_var", c),
		Momentum: momentum,
		mean:     make([]float32, c), istd: make([]float32, c),
		eng: defaultEngine,
	}
	l.Reset()
	return l
}

// Reset sets γ = 1, β = 0 and the running statistics to mean 0, variance 1.
func (l *BatchNorm) Reset() {
	for i := range l.Weight.Data {
		l.Weight.Data[i], l.Bias.Data[i] = 1, 0
		l.Mean.Data[i], l.Var.Data[i] = 0, 1
	}
}

func (l *BatchNorm) Spec() LayerSpec  { return l.spec }
func (l *BatchNorm) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Buffers are the running mean and variance: saved with the weights, moved
// by training passes, never by the optimizer.
func (l *BatchNorm) Buffers() []*Param { return []*Param{l.Mean, l.Var} }

// Scale returns the per-channel affine map of evaluation mode,
// y = scale·x + shift, computed in float64.
func (l *BatchNorm) Scale() (scale, shift []float64) {
	c := len(l.Weight.Data)
	scale, shift = make([]float64, c), make([]float64, c)
	for i := range scale {
		s := float64(l.Weight.Data[i]) / math.Sqrt(float64(l.Var.Data[i])+float64(l.Eps))
		scale[i] = s
		shift[i] = float64(l.Bias.Data[i]) - float64(l.Mean.Data[i])*s
	}
	return scale, shift
}

// channels runs f(c0, c1) over the channels, split among the kernel's
// goroutines when the tensor is large enough to pay for them.
func (l *BatchNorm) channels(c, size int, f func(c0, c1 int)) {
	l.eng.Parts(c, size, 32<<10, f)
}

func (l *BatchNorm) Forward(x *Tensor, train bool) *Tensor { return l.forward(x, train, false) }

// forward is Forward, rectified if rectify (a Net's fused rectifier).
func (l *BatchNorm) forward(x *Tensor, train, rectify bool) *Tensor {
	n, c, p := x.N(), x.C(), x.H()*x.W()
	l.x, l.train = x, train
	l.y = reuse(l.y, x.Shape...)
	m := n * p
	l.channels(c, len(x.Data), func(c0, c1 int) {
		for ch := c0; ch < c1; ch++ {
			var mean, istd float64
			if train {
				// Per-plane sums in float32 (short, four accumulators),
				// combined in float64; the variance from the sum of
				// squares about the plane's first value, which keeps the
				// cancellation small when |μ| ≫ σ.
				ref := x.Data[ch*p]
				var s, q float64
				for j := range n {
					ps, pq := sums(x.Data[(j*c+ch)*p:(j*c+ch+1)*p], ref)
					s += ps
					q += pq
				}
				d := s / float64(m)
				mean = float64(ref) + d
				v := max(q/float64(m)-d*d, 0)
				istd = 1 / math.Sqrt(v+float64(l.Eps))
				unbiased := v
				if m > 1 {
					unbiased = v * float64(m) / float64(m-1)
				}
				mo := float64(l.Momentum)
				l.Mean.Data[ch] = float32((1-mo)*float64(l.Mean.Data[ch]) + mo*mean)
				l.Var.Data[ch] = float32((1-mo)*float64(l.Var.Data[ch]) + mo*unbiased)
			} else {
				mean = float64(l.Mean.Data[ch])
				istd = 1 / math.Sqrt(float64(l.Var.Data[ch])+float64(l.Eps))
			}
			l.mean[ch], l.istd[ch] = float32(mean), float32(istd)
			a := float64(l.Weight.Data[ch]) * istd
			b := float32(float64(l.Bias.Data[ch]) - mean*a)
			for j := range n {
				off := (j*c + ch) * p
				l.eng.Affine(l.y.Data[off:off+p], x.Data[off:off+p], float32(a), b, rectify)
			}
		}
	})
	return l.y
}

// sums returns Σ (v − ref) and Σ (v − ref)², each summed in float32 over
// four lanes.
func sums(x []float32, ref float32) (s, q float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := x[i]-ref, x[i+1]-ref, x[i+2]-ref, x[i+3]-ref
		s0 += a
		s1 += b
		s2 += c
		s3 += d
		q0 += a * a
		q1 += b * b
		q2 += c * c
		q3 += d * d
	}
	for ; i < len(x); i++ {
		a := x[i] - ref
		s0 += a
		q0 += a * a
	}
	return float64(s0+s1) + float64(s2+s3), float64(q0+q1) + float64(q2+q3)
}

// Backward in training mode differentiates through the batch statistics:
//
//	dx = γ/σ̂ · (dy − mean(dy) − x̂·mean(dy·x̂)),  x̂ = (x − μ)/σ̂,
//
// and in evaluation mode the layer is affine: dx = γ/σ̂ · dy. Under every
// rule the signal passes as through a convolution, by the transpose.
// With p.Params, dγ += Σ dy·x̂ and dβ += Σ dy.
func (l *BatchNorm) Backward(dy *Tensor, ps Pass) *Tensor {
	x := l.x
	n, c, p := x.N(), x.C(), x.H()*x.W()
	m := float64(n * p)
	if ps.Input {
		l.dx = reuse(l.dx, x.Shape...)
	}
	l.channels(c, len(x.Data), func(c0, c1 int) {
		for ch := c0; ch < c1; ch++ {
			mean, istd := l.mean[ch], float64(l.istd[ch])
			var sdy, sdyx float64 // Σ dy, Σ dy·(x − μ)
			if ps.Params || l.train {
				for j := range n {
					off := (j*c + ch) * p
					a, b := dotSums(dy.Data[off:off+p], x.Data[off:off+p], mean)
					sdy += a
					sdyx += b
				}
			}
			sdyxh := sdyx * istd // Σ dy·x̂
			if ps.Params {
				l.Weight.Grad[ch] += float32(sdyxh)
				l.Bias.Grad[ch] += float32(sdy)
			}
			if !ps.Input {
				continue
			}
			g := float64(l.Weight.Data[ch]) * istd
			// dx = g·dy + k·(x − μ) + b: the training form expanded.
			var k, b float64
			if l.train {
				k = -g * istd * sdyxh / m
				b = -g * sdy / m
			}
			b -= k * float64(mean)
			for j := range n {
				off := (j*c + ch) * p
				if !l.train {
					l.eng.Affine(l.dx.Data[off:off+p], dy.Data[off:off+p], float32(g), 0, false)
					continue
				}
				l.eng.Affine2(l.dx.Data[off:off+p], dy.Data[off:off+p], x.Data[off:off+p], float32(g), float32(k), float32(b))
			}
		}
	})
	if !ps.Input {
		return nil
	}
	return l.dx
}

// dotSums returns Σ dy and Σ dy·(x − mean), in float32 over four lanes.
func dotSums(dy, x []float32, mean float32) (s, q float64) {
	x = x[:len(dy)]
	var s0, s1, s2, s3, q0, q1, q2, q3 float32
	i := 0
	for ; i+4 <= len(dy); i += 4 {
		s0 += dy[i]
		s1 += dy[i+1]
		s2 += dy[i+2]
		s3 += dy[i+3]
		q0 += dy[i] * (x[i] - mean)
		q1 += dy[i+1] * (x[i+1] - mean)
		q2 += dy[i+2] * (x[i+2] - mean)
		q3 += dy[i+3] * (x[i+3] - mean)
	}
	for ; i < len(dy); i++ {
		s0 += dy[i]
		q0 += dy[i] * (x[i] - mean)
	}
	return float64(s0+s1) + float64(s2+s3), float64(q0+q1) + float64(q2+q3)
}
