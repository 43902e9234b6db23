package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Attribution methods beyond the paper's three rules, each built on the
// same forward and backward passes: SmoothGrad and its variants (Smilkov et
// al. 2017), integrated gradients (Sundararajan et al. 2017), Grad-CAM and
// guided Grad-CAM (Selvaraju et al. 2017), and occlusion (Zeiler and Fergus
// 2014). Every method resolves its targets once, on the image itself (as
// Resolve does), so that noisy, scaled or occluded copies explain the same
// class or unit; the targets returned are those.

// NoiseStat is what SmoothGrad keeps of its samples' maps.
type NoiseStat uint8

const (
	// SmoothMean is SmoothGrad: the mean of the maps.
	SmoothMean NoiseStat = iota
	// SmoothSquare is SmoothGrad²: the mean of the squared maps.
	SmoothSquare
	// SmoothVar is VarGrad: the variance of the maps.
	SmoothVar
)

func (s NoiseStat) String() string {
	switch s {
	case SmoothMean:
		return "smoothgrad"
	case SmoothSquare:
		return "smoothgrad2"
	case SmoothVar:
		return "vargrad"
	}
	return fmt.Sprintf("NoiseStat(%d)", uint8(s))
}

// Noise configures SmoothGrad: Samples maps of the image with Gaussian
// noise of standard deviation Level·(max − min) of the example's values,
// walked back under the call's rule, and reduced as Stat says.
type Noise struct {
	Samples int     // maps per example; 0 means 16
	Level   float64 // σ as a fraction of the example's range; 0 means 0.15
	Stat    NoiseStat
	Seed    uint64 // example i draws from PCG(Seed, i)
	// Batch is the samples of one forward and backward pass; 0 means
	// min(Samples, 16). It changes the speed, never the map.
	Batch int
}

func (o Noise) withDefaults() Noise {
	if o.Samples <= 0 {
		o.Samples = 16
	}
	if o.Level == 0 {
		o.Level = 0.15
	}
	if o.Batch <= 0 {
		o.Batch = min(o.Samples, 16)
	}
	return o
}

// SmoothGrad returns, for each example of x, the mean (or mean square, or
// variance) of the maps Saliency gives under rule for o.Samples copies of
// the example with Gaussian noise added. With o.Level → 0 it tends to
// Saliency's map.
func (n *Net) SmoothGrad(x *Tensor, targets []Target, rule Rule, o Noise) (*Tensor, []Target, error) {
	o = o.withDefaults()
	if o.Level < 0 || math.IsNaN(o.Level) || math.IsInf(o.Level, 0) {
		return nil, nil, fmt.Errorf("kernel: SmoothGrad noise level %g: %w", o.Level, ErrTarget)
	}
	used, err := n.Resolve(x, targets)
	if err != nil {
		return nil, nil, err
	}
	out := NewTensor(x.Shape...)
	size := len(x.Example(0))
	sum, sq := make([]float64, size), make([]float64, size)
	for i := range x.N() {
		ex := x.Example(i)
		lo, hi := extent(ex)
		sigma := o.Level * float64(hi-lo)
		rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		clear(sum)
		clear(sq)
		err := n.sumMaps(x, used[i], o.Samples, o.Batch, rule, func(_ int, e []float32) {
			for k, v := range ex {
				e[k] = v + float32(sigma*rng.NormFloat64())
			}
		}, func(m []float32) {
			for k, v := range m {
				sum[k] += float64(v)
				sq[k] += float64(v) * float64(v)
			}
		})
		if err != nil {
			return nil, nil, err
		}
		dst, s := out.Example(i), float64(o.Samples)
		for k := range dst {
			mean := sum[k] / s
			switch o.Stat {
			case SmoothMean:
				dst[k] = float32(mean)
			case SmoothSquare:
				dst[k] = float32(sq[k] / s)
			case SmoothVar:
				dst[k] = float32(max(sq[k]/s-mean*mean, 0))
			}
		}
	}
	return out, used, nil
}

// Baseline is the reference image of integrated gradients.
type Baseline uint8

const (
	// BaselineZero is the all-zero input: after per-channel normalisation,
	// the training set's mean colour.
	BaselineZero Baseline = iota
	// BaselineBlur is the image blurred by a Gaussian whose σ is a tenth
	// of its larger side: its colours without its edges.
	BaselineBlur
	// BaselineMean is the image's own mean, per channel.
	BaselineMean
)

func (b Baseline) String() string {
	switch b {
	case BaselineZero:
		return "zero"
	case BaselineBlur:
		return "blur"
	case BaselineMean:
		return "mean"
	}
	return fmt.Sprintf("Baseline(%d)", uint8(b))
}

// ParseBaseline reads "zero", "blur" or "mean".
func ParseBaseline(s string) (Baseline, error) {
	for _, b := range []Baseline{BaselineZero, BaselineBlur, BaselineMean} {
		if b.String() == s {
			return b, nil
		}
	}
	return 0, fmt.Errorf("kernel: unknown baseline %q (want zero, blur or mean)", s)
}

// Integration configures integrated gradients.
type Integration struct {
	Steps    int // points of the path; 0 means 32
	Baseline Baseline
	// Batch is the points of one forward and backward pass; 0 means
	// min(Steps, 16). It changes the speed, never the map.
	Batch int
}

// IntegratedGradients returns, for each example of x, (x − x′) times the
// mean gradient of the target along the straight path from the baseline x′
// to x, at the midpoints of Steps equal segments. The attributions of an
// example sum to about f(x) − f(x′), f being the target's value
// (completeness; the midpoint rule's error falls as 1/Steps²).
func (n *Net) IntegratedGradients(x *Tensor, targets []Target, o Integration) (*Tensor, []Target, error) {
	if o.Steps <= 0 {
		o.Steps = 32
	}
	if o.Batch <= 0 {
		o.Batch = min(o.Steps, 16)
	}
	used, err := n.Resolve(x, targets)
	if err != nil {
		return nil, nil, err
	}
	base := BaselineOf(x, o.Baseline)
	out := NewTensor(x.Shape...)
	size := len(x.Example(0))
	sum := make([]float64, size)
	for i := range x.N() {
		ex, b := x.Example(i), base.Example(i)
		clear(sum)
		err := n.sumMaps(x, used[i], o.Steps, o.Batch, Rule{ReLU: Gradient}, func(s int, e []float32) {
			a := (float64(s) + 0.5) / float64(o.Steps)
			for k, v := range ex {
				e[k] = b[k] + float32(a*float64(v-b[k]))
			}
		}, func(m []float32) {
			for k, v := range m {
				sum[k] += float64(v)
			}
		})
		if err != nil {
			return nil, nil, err
		}
		dst := out.Example(i)
		for k := range dst {
			dst[k] = float32(float64(ex[k]-b[k]) * sum[k] / float64(o.Steps))
		}
	}
	return out, used, nil
}

// BaselineOf returns the baseline b of each example of x.
func BaselineOf(x *Tensor, b Baseline) *Tensor {
	out := NewTensor(x.Shape...)
	c, h, w := x.C(), x.H(), x.W()
	for i := range x.N() {
		ex, dst := x.Example(i), out.Example(i)
		switch b {
		case BaselineMean:
			for ch := range c {
				var s float64
				for _, v := range ex[ch*h*w : (ch+1)*h*w] {
					s += float64(v)
				}
				m := float32(s / float64(h*w))
				for k := range dst[ch*h*w : (ch+1)*h*w] {
					dst[ch*h*w+k] = m
				}
			}
		case BaselineBlur:
			sigma := float64(max(h, w)) / 10
			for ch := range c {
				blur(ex[ch*h*w:(ch+1)*h*w], dst[ch*h*w:(ch+1)*h*w], h, w, sigma)
			}
		}
	}
	return out
}

// blur writes plane src (h×w) convolved with a Gaussian of std sigma to
// dst, separably, the kernel renormalised at the borders (so a constant
// plane stays constant).
func blur(src, dst []float32, h, w int, sigma float64) {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	tmp := make([]float64, h*w)
	for y := range h {
		for x := range w {
			var s, ws float64
			for i := max(0, x-r); i <= min(w-1, x+r); i++ {
				s += k[i-x+r] * float64(src[y*w+i])
				ws += k[i-x+r]
			}
			tmp[y*w+x] = s / ws
		}
	}
	for y := range h {
		for x := range w {
			var s, ws float64
			for i := max(0, y-r); i <= min(h-1, y+r); i++ {
				s += k[i-y+r] * tmp[i*w+x]
				ws += k[i-y+r]
			}
			dst[y*w+x] = float32(s / ws)
		}
	}
}

// sumMaps runs count copies of one example of x, in batches of batch, to
// Saliency's maps of target t under rule: fill(s, e) writes copy s into e,
// and add receives each copy's map in order.
func (n *Net) sumMaps(x *Tensor, t Target, count, batch int, rule Rule, fill func(s int, e []float32), add func(m []float32)) error {
	for s0 := 0; s0 < count; s0 += batch {
		nb := min(batch, count-s0)
		xb := NewTensor(nb, x.C(), x.H(), x.W())
		for j := range nb {
			fill(s0+j, xb.Example(j))
		}
		m, _, err := n.Saliency(xb, repeat(t, nb), rule)
		if err != nil {
			return err
		}
		for j := range nb {
			add(m.Example(j))
		}
	}
	return nil
}

// valueAt is the activation a target (resolved) names in one example's
// activations a of a layer shaped sh.
func valueAt(a []float32, t Target, sh [3]int) float32 {
	pos := 0
	if t.At != nil {
		pos = t.At[0]*sh[2] + t.At[1]
	}
	return a[t.Channel*sh[1]*sh[2]+pos]
}

// repeat is nb copies of t.
func repeat(t Target, nb int) []Target {
	ts := make([]Target, nb)
	for i := range ts {
		ts[i] = t
	}
	return ts
}

// extent returns the least and the greatest of s.
func extent(s []float32) (lo, hi float32) {
	lo, hi = s[0], s[0]
	for _, v := range s[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
