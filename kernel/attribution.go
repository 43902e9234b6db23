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
	used, err := n.resolveNoise(x, targets, o, 0, o.Samples)
	if err != nil {
		return nil, nil, err
	}
	out := NewTensor(x.Shape...)
	var sums noiseSums
	for i := range x.N() {
		sums.reset(len(x.Example(i)))
		if err := n.sumMaps(x, used[i], 0, o.Samples, o.Batch, rule, noisy(x.Example(i), i, 0, o), sums.add); err != nil {
			return nil, nil, err
		}
		sums.write(out.Example(i), o)
	}
	return out, used, nil
}

// SmoothGradMaps returns the maps of SmoothGrad's noisy copies first, …,
// first+count−1 of each example of x: copy s of example i is example
// (s−first)·N+i of the tensor, N being x's examples. Copy s is the one
// SmoothGrad makes (its noise is drawn from PCG(o.Seed, i) after the noise
// of copies 0 … s−1), so the tensors of consecutive ranges, concatenated,
// are every copy's map, and ReduceSmoothGrad of them is SmoothGrad's
// result: several workers can share the copies of one map.
func (n *Net) SmoothGradMaps(x *Tensor, targets []Target, rule Rule, o Noise, first, count int) (*Tensor, []Target, error) {
	o = o.withDefaults()
	used, err := n.resolveNoise(x, targets, o, first, count)
	if err != nil {
		return nil, nil, err
	}
	out := NewTensor(count*x.N(), x.C(), x.H(), x.W())
	for i := range x.N() {
		s := 0
		err := n.sumMaps(x, used[i], first, count, o.Batch, rule, noisy(x.Example(i), i, first, o), func(m []float32) {
			copy(out.Example(s*x.N()+i), m)
			s++
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return out, used, nil
}

// ReduceSmoothGrad returns what SmoothGrad returns for the maps of every
// noisy copy of each example, laid out as SmoothGradMaps lays out copies 0
// to o.Samples−1: o.Stat of the maps, added in the order of the copies, as
// SmoothGrad adds them.
func ReduceSmoothGrad(maps *Tensor, o Noise) (*Tensor, error) {
	o = o.withDefaults()
	if len(maps.Shape) != 4 || maps.N()%o.Samples != 0 {
		return nil, fmt.Errorf("kernel: %v maps for %d noisy copies of each example: %w", maps.Shape, o.Samples, ErrShape)
	}
	nx := maps.N() / o.Samples
	out := NewTensor(nx, maps.C(), maps.H(), maps.W())
	var sums noiseSums
	for i := range nx {
		sums.reset(len(out.Example(i)))
		for s := range o.Samples {
			sums.add(maps.Example(s*nx + i))
		}
		sums.write(out.Example(i), o)
	}
	return out, nil
}

// resolveNoise checks o and the copies [first, first+count), and resolves
// the targets on x itself.
func (n *Net) resolveNoise(x *Tensor, targets []Target, o Noise, first, count int) ([]Target, error) {
	if o.Level < 0 || math.IsNaN(o.Level) || math.IsInf(o.Level, 0) {
		return nil, fmt.Errorf("kernel: SmoothGrad noise level %g: %w", o.Level, ErrTarget)
	}
	if first < 0 || count < 1 || first+count > o.Samples {
		return nil, fmt.Errorf("kernel: SmoothGrad copies [%d, %d) of %d: %w", first, first+count, o.Samples, ErrTarget)
	}
	return n.Resolve(x, targets)
}

// noisy returns the fill of sumMaps for example i's noisy copies from copy
// first on, called for each copy in order: the example plus noise of σ =
// o.Level·(max − min) of its values, drawn in sequence from PCG(o.Seed, i)
// after the draws of the copies before first (drawn and dropped: a normal
// draw takes a varying number of the generator's outputs).
func noisy(ex []float32, i, first int, o Noise) func(int, []float32) {
	lo, hi := extent(ex)
	sigma := o.Level * float64(hi-lo)
	rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
	for range first * len(ex) {
		rng.NormFloat64()
	}
	return func(_ int, e []float32) {
		for k, v := range ex {
			e[k] = v + float32(sigma*rng.NormFloat64())
		}
	}
}

// noiseSums is what SmoothGrad keeps of one example's maps: their sum and
// the sum of their squares, in float64.
type noiseSums struct{ sum, sq []float64 }

func (a *noiseSums) reset(size int) {
	if len(a.sum) != size {
		a.sum, a.sq = make([]float64, size), make([]float64, size)
	}
	clear(a.sum)
	clear(a.sq)
}

func (a *noiseSums) add(m []float32) {
	for k, v := range m {
		a.sum[k] += float64(v)
		a.sq[k] += float64(v) * float64(v)
	}
}

// write writes o.Stat of o.Samples maps to dst.
func (a *noiseSums) write(dst []float32, o Noise) {
	s := float64(o.Samples)
	for k := range dst {
		mean := a.sum[k] / s
		switch o.Stat {
		case SmoothMean:
			dst[k] = float32(mean)
		case SmoothSquare:
			dst[k] = float32(a.sq[k] / s)
		case SmoothVar:
			dst[k] = float32(max(a.sq[k]/s-mean*mean, 0))
		}
	}
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
	o = o.withDefaults()
	used, err := n.Resolve(x, targets)
	if err != nil {
		return nil, nil, err
	}
	base := BaselineOf(x, o.Baseline)
	out := NewTensor(x.Shape...)
	sum := make([]float64, len(x.Example(0)))
	for i := range x.N() {
		clear(sum)
		err := n.sumMaps(x, used[i], 0, o.Steps, o.Batch, Rule{ReLU: Gradient}, onPath(x.Example(i), base.Example(i), o), func(m []float32) {
			for k, v := range m {
				sum[k] += float64(v)
			}
		})
		if err != nil {
			return nil, nil, err
		}
		integrate(out.Example(i), x.Example(i), base.Example(i), sum, o)
	}
	return out, used, nil
}

// IntegratedGradientsMaps returns the gradients IntegratedGradients
// averages at the path's points first, …, first+count−1 of each example of
// x: point s of example i is example (s−first)·N+i of the tensor, N being
// x's examples. The tensors of consecutive ranges, concatenated, are every
// point's gradient, and ReduceIntegratedGradients of them is
// IntegratedGradients' result: several workers can share the points of
// one map.
func (n *Net) IntegratedGradientsMaps(x *Tensor, targets []Target, o Integration, first, count int) (*Tensor, []Target, error) {
	o = o.withDefaults()
	if first < 0 || count < 1 || first+count > o.Steps {
		return nil, nil, fmt.Errorf("kernel: integrated gradients' points [%d, %d) of %d: %w", first, first+count, o.Steps, ErrTarget)
	}
	used, err := n.Resolve(x, targets)
	if err != nil {
		return nil, nil, err
	}
	base := BaselineOf(x, o.Baseline)
	out := NewTensor(count*x.N(), x.C(), x.H(), x.W())
	for i := range x.N() {
		s := 0
		err := n.sumMaps(x, used[i], first, count, o.Batch, Rule{ReLU: Gradient}, onPath(x.Example(i), base.Example(i), o), func(m []float32) {
			copy(out.Example(s*x.N()+i), m)
			s++
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return out, used, nil
}

// ReduceIntegratedGradients returns what IntegratedGradients returns for x
// given the gradients at every point of the path, laid out as
// IntegratedGradientsMaps lays out points 0 to o.Steps−1, added in the
// order of the points, as IntegratedGradients adds them.
func ReduceIntegratedGradients(x, maps *Tensor, o Integration) (*Tensor, error) {
	o = o.withDefaults()
	if len(x.Shape) != 4 || len(maps.Shape) != 4 || maps.N() != o.Steps*x.N() || len(maps.Example(0)) != len(x.Example(0)) {
		return nil, fmt.Errorf("kernel: %v gradients for %d points of the path of each example of %v: %w", maps.Shape, o.Steps, x.Shape, ErrShape)
	}
	base := BaselineOf(x, o.Baseline)
	out := NewTensor(x.Shape...)
	sum := make([]float64, len(x.Example(0)))
	for i := range x.N() {
		clear(sum)
		for s := range o.Steps {
			for k, v := range maps.Example(s*x.N() + i) {
				sum[k] += float64(v)
			}
		}
		integrate(out.Example(i), x.Example(i), base.Example(i), sum, o)
	}
	return out, nil
}

func (o Integration) withDefaults() Integration {
	if o.Steps <= 0 {
		o.Steps = 32
	}
	if o.Batch <= 0 {
		o.Batch = min(o.Steps, 16)
	}
	return o
}

// onPath returns the fill of sumMaps for the points of the path from the
// baseline b to the example ex: point s is the midpoint of segment s of
// o.Steps.
func onPath(ex, b []float32, o Integration) func(int, []float32) {
	return func(s int, e []float32) {
		a := (float64(s) + 0.5) / float64(o.Steps)
		for k, v := range ex {
			e[k] = b[k] + float32(a*float64(v-b[k]))
		}
	}
}

// integrate writes (ex − b) times the mean of o.Steps gradients, whose sum
// is sum, to dst.
func integrate(dst, ex, b []float32, sum []float64, o Integration) {
	for k := range dst {
		dst[k] = float32(float64(ex[k]-b[k]) * sum[k] / float64(o.Steps))
	}
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

// sumMaps runs copies first, …, first+count−1 of one example of x, in
// batches of batch, to Saliency's maps of target t under rule: fill(s, e)
// writes copy s into e, called for the copies in order, and add receives
// each copy's map in order.
func (n *Net) sumMaps(x *Tensor, t Target, first, count, batch int, rule Rule, fill func(s int, e []float32), add func(m []float32)) error {
	for s0 := first; s0 < first+count; s0 += batch {
		nb := min(batch, first+count-s0)
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
