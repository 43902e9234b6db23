package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// InitSchemes names the weight initializations Init offers.
var InitSchemes = []string{"he", "xavier", "normal:STD"}

// ClassLayerStd and ClassLayerBias initialize a rectified class layer.
const (
	ClassLayerStd  = 0.01
	ClassLayerBias = 1
)

// rectifiedClassLayer is the index of the last convolution when a ReLU
// follows it (the CIFAR models keep one there), else −1.
func (n *Net) rectifiedClassLayer() int {
	for i := len(n.Spec.Layers) - 1; i >= 0; i-- {
		if n.Spec.Layers[i].Type == TypeConv {
			if i+1 < len(n.Spec.Layers) && n.Spec.Layers[i+1].Type == TypeReLU {
				return i
			}
			return -1
		}
	}
	return -1
}

// Init fills every convolution's weights by scheme, seeded, and zeroes the
// biases. A class layer followed by a ReLU is the exception, whatever the
// scheme: weights N(0, ClassLayerStd²) and biases ClassLayerBias, so that
// it starts with every unit active and small logits (RATIONALE.md). Schemes: "he" — N(0, 2/fan_in), Kaiming He et al. 2015, suited to
// ReLU nets (the default); "xavier" — U(±√(6/(fan_in+fan_out))), Glorot and
// Bengio 2010; "normal:STD" — N(0, STD²), as some reproductions used with
// STD 0.05. fan_in = in·k·k, fan_out = out·k·k.
func (n *Net) Init(scheme string, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x616c6c636e6e))
	var std float64
	if s, ok := strings.CutPrefix(scheme, "normal:"); ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("kernel: init %q: want normal:STD with STD > 0", scheme)
		}
		std = v
	} else if scheme != "he" && scheme != "xavier" {
		return fmt.Errorf("kernel: unknown init %q (want he, xavier or normal:STD)", scheme)
	}
	classLayer := n.rectifiedClassLayer()
	for i, l := range n.Layers {
		c, ok := l.(*Conv2D)
		if !ok {
			continue
		}
		if i == classLayer {
			// A rectified class unit that falls below zero for every input
			// never recovers; when all do, the net sits at loss ln 10
			// (NOTES.md §5). Small weights and a bias of 1 start every unit
			// active with a margin that early updates do not erase.
			for j := range c.Weight.Data {
				c.Weight.Data[j] = float32(rng.NormFloat64() * ClassLayerStd)
			}
			for j := range c.Bias.Data {
				c.Bias.Data[j] = ClassLayerBias
			}
			continue
		}
		fanIn, fanOut := float64(c.InC*c.K*c.K), float64(c.OutC*c.K*c.K)
		w := c.Weight.Data
		switch scheme {
		case "he":
			s := math.Sqrt(2 / fanIn)
			for i := range w {
				w[i] = float32(rng.NormFloat64() * s)
			}
		case "xavier":
			a := math.Sqrt(6 / (fanIn + fanOut))
			for i := range w {
				w[i] = float32((2*rng.Float64() - 1) * a)
			}
		default:
			for i := range w {
				w[i] = float32(rng.NormFloat64() * std)
			}
		}
		zero(c.Bias.Data)
	}
	return nil
}
