package kernel

import (
	"math"
	"math/rand/v2"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// Dropout zeroes each input with probability P while training and scales the
// survivors by 1/(1−P) ("inverted" dropout), so evaluation is the identity.
// Its random stream is its own PCG, seeded by the net, so runs repeat and a
// checkpoint can store the state.
type Dropout struct {
	spec LayerSpec
	P    float32
	RNG  *rand.PCG

	train bool
	mask  []float32
	y, dx *Tensor
	eng   *engine.Engine
}

// NewDropout makes a dropout layer drawing from its own PCG(seed, stream).
func NewDropout(name string, p float32, seed, stream uint64) *Dropout {
	return &Dropout{spec: LayerSpec{Type: TypeDropout, Name: name, P: p}, P: p, RNG: rand.NewPCG(seed, stream), eng: defaultEngine}
}

func (l *Dropout) Spec() LayerSpec  { return l.spec }
func (l *Dropout) Params() []*Param { return nil }

func (l *Dropout) Forward(x *Tensor, train bool) *Tensor {
	l.train = train && l.P > 0
	if !l.train {
		return x
	}
	l.y = reuse(l.y, x.Shape...)
	if len(l.mask) != len(x.Data) {
		l.mask = make([]float32, len(x.Data))
	}
	// Compare 24 random bits against the threshold: exact for any P that is
	// a multiple of 2⁻²⁴, and cheap.
	keep := 1 / (1 - l.P)
	thresh := uint64(float64(l.P) * (1 << 24))
	keepBits := math.Float32bits(keep)
	var bits uint64
	for i, v := range x.Data {
		if i%2 == 0 {
			bits = l.RNG.Uint64()
		} else {
			bits >>= 32
		}
		// drop is all ones when the draw falls below the threshold:
		// a select without a branch, which would mispredict at random.
		drop := uint32((int64(bits&(1<<24-1)) - int64(thresh)) >> 63)
		m := math.Float32frombits(keepBits &^ drop)
		l.mask[i] = m
		l.y.Data[i] = v * m
	}
	return l.y
}

func (l *Dropout) Backward(dy *Tensor, p Pass) *Tensor {
	if !p.Input {
		return nil
	}
	if !l.train {
		return dy
	}
	l.dx = reuse(l.dx, dy.Shape...)
	l.eng.Elementwise(len(dy.Data), func(lo, hi int) {
		dx, m := l.dx.Data[lo:hi], l.mask[lo:hi]
		for i, g := range dy.Data[lo:hi] {
			dx[i] = g * m[i]
		}
	})
	return l.dx
}
