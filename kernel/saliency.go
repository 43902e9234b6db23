package kernel

import (
	"errors"
	"fmt"
)

// ErrTarget is wrapped by errors about a saliency target.
var ErrTarget = errors.New("invalid target")

// Strongest as a Target's Channel picks, per example, the channel holding
// the largest activation of the layer (for the output: the top class).
const Strongest = -1

// Target is what a saliency map explains (NOTES.md §6): a class logit, or a
// unit — one channel of a named layer at a position or at its strongest
// position in the example.
type Target struct {
	// Layer names the layer whose unit is explained; "" means the net's
	// output, so Channel is a class. A convolution followed by a rectifier
	// means the rectified activation (see Net.Unit).
	Layer string
	// Channel is the class or the unit's channel; Strongest (−1) picks
	// the top class, or the layer's most active channel.
	Channel int
	// At is the unit's position (y, x); nil means the position where the
	// channel is strongest in this example.
	At *[2]int
}

func (t Target) String() string {
	s := fmt.Sprintf("class %d", t.Channel)
	if t.Layer != "" {
		s = fmt.Sprintf("%s unit %d", t.Layer, t.Channel)
	}
	if t.At != nil {
		s += fmt.Sprintf(" at (%d,%d)", t.At[0], t.At[1])
	}
	return s
}

// Saliency returns, for each example of x, the signal that reaches the
// input when every activation of the target's layer is zeroed except the
// targeted one, which sends 1, and the net is walked backward under rule.
// It runs the net in evaluation mode; targets[i] belongs to example i and
// all must name the same layer. The map has x's shape; the targets
// returned are those explained, resolved as Resolve resolves them.
func (n *Net) Saliency(x *Tensor, targets []Target, rule Rule) (*Tensor, []Target, error) {
	layer, seed, used, err := n.seedSignal(x, targets)
	if err != nil {
		return nil, nil, err
	}
	dx, err := n.BackwardFrom(layer, seed, Pass{Rule: rule, Input: true})
	if err != nil {
		return nil, nil, err
	}
	return dx.Clone(), used, nil
}

// Resolve runs the net in evaluation mode to the targets' layer and
// returns each target of x's examples with its channel and position fixed:
// Strongest becomes the top class, or the channel holding the layer's
// largest activation (at At, if given), and a nil At the position where
// the channel is largest. A class target keeps a nil At.
//
// Targets that name their channel, and their position where the layer's
// map is larger than 1×1, are resolved already: then no forward pass runs.
func (n *Net) Resolve(x *Tensor, targets []Target) ([]Target, error) {
	_, used, _, err := n.resolve(x, targets, false)
	return used, err
}

// seedSignal checks the targets, runs the forward pass to their layer, and
// builds the one-hot signal there; it returns the targets resolved.
func (n *Net) seedSignal(x *Tensor, targets []Target) (int, *Tensor, []Target, error) {
	layer, used, act, err := n.resolve(x, targets, true)
	if err != nil {
		return 0, nil, nil, err
	}
	sh := n.Shapes[layer]
	seed := NewTensor(act.Shape...)
	for i, t := range used {
		pos := 0
		if t.At != nil {
			pos = t.At[0]*sh[2] + t.At[1]
		}
		seed.Example(i)[t.Channel*sh[1]*sh[2]+pos] = 1
	}
	return layer, seed, used, nil
}

// resolve checks the targets, runs the forward pass to their layer and
// fixes each target's channel and position; it returns the layer, the
// targets and the layer's activations. Unless forward, the pass is left
// out (and the activations nil) when every target is resolved already.
func (n *Net) resolve(x *Tensor, targets []Target, forward bool) (int, []Target, *Tensor, error) {
	if len(x.Shape) != 4 || len(targets) != x.Shape[0] {
		return 0, nil, nil, fmt.Errorf("kernel: %d targets for input %v: %w", len(targets), x.Shape, ErrTarget)
	}
	layer := len(n.Layers) - 1
	if name := targets[0].Layer; name != "" {
		var err error
		if layer, err = n.Unit(name); err != nil {
			return 0, nil, nil, fmt.Errorf("%w: %w", ErrTarget, err)
		}
	}
	sh := n.Shapes[layer]
	for i, t := range targets {
		if t.Layer != targets[0].Layer {
			return 0, nil, nil, fmt.Errorf("kernel: target %d names layer %q, target 0 %q; one call explains one layer: %w", i, t.Layer, targets[0].Layer, ErrTarget)
		}
		if t.Channel < Strongest || t.Channel >= sh[0] {
			return 0, nil, nil, fmt.Errorf("kernel: target %d: channel %d of %d: %w", i, t.Channel, sh[0], ErrTarget)
		}
		if t.At != nil && (t.At[0] < 0 || t.At[0] >= sh[1] || t.At[1] < 0 || t.At[1] >= sh[2]) {
			return 0, nil, nil, fmt.Errorf("kernel: target %d: position %v outside %d×%d: %w", i, *t.At, sh[1], sh[2], ErrTarget)
		}
	}
	hw := sh[1] * sh[2]
	var act *Tensor
	if forward || !resolved(targets, hw) {
		var err error
		if act, err = n.ForwardTo(x, layer, false); err != nil {
			return 0, nil, nil, err
		}
	} else if err := n.checkInput(x); err != nil {
		return 0, nil, nil, err
	}
	used := make([]Target, len(targets))
	for i, t := range targets {
		if act == nil { // resolved: a channel, and a position or a 1×1 map
			used[i] = Target{Layer: t.Layer, Channel: t.Channel}
			if hw > 1 || t.Layer != "" {
				at := [2]int{}
				if t.At != nil {
					at = *t.At
				}
				used[i].At = &at
			}
			continue
		}
		a, ch := act.Example(i), t.Channel
		if ch == Strongest {
			if t.At != nil { // the strongest channel at that position
				best := 0
				for c := range sh[0] {
					if a[c*hw+t.At[0]*sh[2]+t.At[1]] > a[best*hw+t.At[0]*sh[2]+t.At[1]] {
						best = c
					}
				}
				ch = best
			} else {
				ch = Argmax(a) / hw
			}
		}
		pos := Argmax(a[ch*hw : (ch+1)*hw])
		if t.At != nil {
			pos = t.At[0]*sh[2] + t.At[1]
		}
		used[i] = Target{Layer: t.Layer, Channel: ch}
		if hw > 1 || t.Layer != "" {
			used[i].At = &[2]int{pos / sh[2], pos % sh[2]}
		}
	}
	return layer, used, act, nil
}

// resolved reports whether every target names its channel, and its
// position where the map has more than one (hw).
func resolved(targets []Target, hw int) bool {
	for _, t := range targets {
		if t.Channel == Strongest || (t.At == nil && hw > 1) {
			return false
		}
	}
	return true
}

// Pattern reconstructs what a unit detects without conditioning on an image
// (paper Fig. 2): the deconvnet signal of channel's unit at the centre of
// the layer's map, propagated to the input. The deconvnet rule ignores the
// forward activations, so the forward pass runs on a blank image only to
// size the maps; pools, which would need switches from an image, spread
// evenly (NoSwitches). For a first-layer unit the pattern is its filter.
func (n *Net) Pattern(layer string, channel int) (*Tensor, error) {
	i, err := n.Unit(layer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	sh := n.Shapes[i]
	at := [2]int{sh[1] / 2, sh[2] / 2}
	in := n.Spec.Input
	m, _, err := n.Saliency(NewTensor(1, in[0], in[1], in[2]), []Target{{Layer: layer, Channel: channel, At: &at}}, Rule{ReLU: Deconvnet, Pool: NoSwitches})
	return m, err
}
