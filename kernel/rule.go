package kernel

import "fmt"

// ReLURule is how a rectifier passes a signal g back, given its forward
// input x (paper Fig. 1; NOTES.md §6).
type ReLURule uint8

const (
	// Gradient is ordinary backpropagation: g·[x > 0].
	Gradient ReLURule = iota
	// Deconvnet is Zeiler and Fergus's rule: max(g, 0), ignoring x.
	Deconvnet
	// Guided is guided backpropagation: max(g, 0)·[x > 0].
	Guided
)

func (r ReLURule) String() string {
	switch r {
	case Gradient:
		return "gradient"
	case Deconvnet:
		return "deconvnet"
	case Guided:
		return "guided"
	}
	return fmt.Sprintf("ReLURule(%d)", uint8(r))
}

// ParseReLURule reads "gradient", "deconvnet" or "guided".
func ParseReLURule(s string) (ReLURule, error) {
	for _, r := range []ReLURule{Gradient, Deconvnet, Guided} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("kernel: unknown method %q (want gradient, deconvnet or guided)", s)
}

// PoolRule is how a pooling layer (MaxPool, PNorm) passes a signal back.
type PoolRule uint8

const (
	// Switches sends each output's signal to the input that won the forward
	// max (the true gradient). A p-norm pool, which has no winners, passes
	// its true gradient, which tends to the switches as p grows.
	Switches PoolRule = iota
	// NoSwitches has no record of the winners: each output's signal is
	// spread evenly over the in-bounds inputs of its window, as the
	// transpose of average pooling would (RATIONALE.md). A p-norm pool
	// does the same.
	NoSwitches
)

// Rule selects the backward behaviour of every rectifier and pool in a
// pass. It is an explicit argument of each backward call, never state, so
// there is nothing to restore after a pass, even one that fails. The zero
// value is plain backpropagation.
type Rule struct {
	ReLU ReLURule
	Pool PoolRule
}

// Pass says what a backward call computes.
type Pass struct {
	Rule Rule
	// Params accumulates parameter gradients (training); visualizations
	// leave it off.
	Params bool
	// Input computes the signal for the layer's input. The first layer of a
	// training pass may skip it.
	Input bool
}
