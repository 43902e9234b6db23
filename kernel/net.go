package kernel

import (
	"errors"
	"fmt"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// ErrShape is wrapped by errors about a tensor of the wrong shape.
var ErrShape = errors.New("wrong shape")

// Net is a network built from a Spec: its layers in order, with the
// per-example output shape of each.
type Net struct {
	Spec   Spec
	Layers []Layer
	Shapes [][3]int // Shapes[i] is the output shape of layer i

	ran   int // layers run by the last forward pass
	opts  Options
	eng   *engine.Engine
	fused []bool // fused[i]: layer i rectifies its output for layer i+1, a plain ReLU
	// frozen: Freeze's promise holds, until Thaw or a call that hands out
	// the parameters.
	frozen bool
}

// Freeze promises that the net's parameters will not change until Thaw:
// its convolutions then keep what they derive from their weights (Winograd's
// transformed weights, the taps of the shifted-view convolution) after
// comparing the weights once, instead of comparing them with the last
// call's at every pass. At batch 1 on All-CNN-C the comparisons read 3.6 MB
// of weights and as much of copies, about 9% of an inference and 12% of a
// guided map (RATIONALE.md, "Why Net.Freeze?"). An inference session
// (package allcnn's Model) freezes its nets.
//
// Params, Tensors and Param thaw the net, as they hand out the tensors to
// change; so does Thaw. Changing a parameter while the net is frozen, through
// a *Param kept from before Freeze or a layer's fields, breaks the promise:
// passes may then run on the old weights.
func (n *Net) Freeze() { n.setFrozen(true) }

// Thaw ends Freeze's promise: the next pass of each convolution compares
// its weights with those it last saw, as every pass of a net never frozen
// does.
func (n *Net) Thaw() { n.setFrozen(false) }

// Frozen reports whether Freeze's promise holds.
func (n *Net) Frozen() bool { return n.frozen }

func (n *Net) setFrozen(on bool) {
	if on == n.frozen {
		return
	}
	n.frozen = on
	for _, l := range n.Layers {
		if c, ok := l.(*Conv2D); ok {
			c.freeze(on)
		}
	}
}

// buildOn makes the layers of s on engine e (o's).
func buildOn(s Spec, o Options, e *engine.Engine) (*Net, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return nil, err
	}
	n := &Net{Spec: s, Shapes: shapes, opts: o, eng: e}
	n.Spec.Layers = append([]LayerSpec(nil), s.Layers...)
	in := s.Input[0]
	// One net runs one layer at a time, so its convolutions share their
	// Winograd buffers.
	scratch := new(engine.WinogradScratch)
	for i, l := range s.Layers {
		var layer Layer
		switch l.Type {
		case TypeConv:
			c := NewConv2D(l.Name, in, l.Out, l.Kernel, l.Stride, l.Pad)
			c.scratch, c.eng = scratch, e
			layer = c
		case TypeReLU, TypeLeakyReLU:
			r := NewReLU(l.Name, l.Slope)
			if l.Type == TypeLeakyReLU {
				r.spec = l
			}
			r.eng = e
			layer = r
		case TypeDropout:
			d := NewDropout(l.Name, l.P, 0, uint64(i))
			d.eng = e
			layer = d
		case TypeMaxPool:
			layer = NewMaxPool(l.Name, l.Kernel, l.Stride, l.Pad, l.Ceil)
		case TypePNorm:
			p := NewPNorm(l.Name, l.Kernel, l.Stride, l.Pad, l.Ceil, l.P)
			p.eng = e
			layer = p
		case TypeGAP:
			layer = NewGAP(l.Name)
		case TypeBatchNorm:
			b := NewBatchNorm(l.Name, in, l.Eps, l.Momentum)
			b.eng = e
			layer = b
		}
		n.Layers = append(n.Layers, layer)
		in = shapes[i][0]
	}
	// A convolution or batchnorm whose output goes only to a plain
	// rectifier rectifies it itself while it is in cache, and the
	// rectifier passes it on without a copy (its backward pass reads the
	// signs from it as before): decided here, once.
	n.fused = make([]bool, len(n.Layers))
	for i := range len(n.Layers) - 1 {
		r, ok := n.Layers[i+1].(*ReLU)
		_, producer := n.Layers[i].(rectifying)
		n.fused[i] = producer && ok && r.Slope == 0
	}
	return n, nil
}

// rectifying is a layer that can rectify its own output: the producer of a
// fused pair.
type rectifying interface {
	forward(x *Tensor, train, rectify bool) *Tensor
}

// Seed reseeds every dropout layer: layer i draws from PCG(seed, i).
func (n *Net) Seed(seed uint64) {
	for i, l := range n.Layers {
		if d, ok := l.(*Dropout); ok {
			d.RNG.Seed(seed, uint64(i))
		}
	}
}

// Params lists the learnable tensors in layer order. It thaws a frozen
// net (Freeze).
func (n *Net) Params() []*Param {
	n.Thaw()
	var ps []*Param
	for _, l := range n.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Tensors lists every tensor a weight file stores, in layer order: the
// learnable ones and the buffers (a batchnorm's running statistics), in the
// order of Spec.ParamShapes. It thaws a frozen net (Freeze).
func (n *Net) Tensors() []*Param {
	n.Thaw()
	return n.tensors()
}

// tensors is Tensors without thawing, for callers in this package that
// only read them.
func (n *Net) tensors() []*Param {
	var ps []*Param
	for _, l := range n.Layers {
		ps = append(ps, l.Params()...)
		if b, ok := l.(interface{ Buffers() []*Param }); ok {
			ps = append(ps, b.Buffers()...)
		}
	}
	return ps
}

// Clone builds n's spec again, on n's options, with a copy of every tensor
// of n (Tensors): a net whose weights can change without touching n's. It
// reads n's tensors without thawing n.
func (n *Net) Clone() (*Net, error) {
	c, err := n.build(n.Spec)
	if err != nil {
		return nil, err
	}
	src := n.tensors()
	for i, p := range c.tensors() {
		copy(p.Data, src[i].Data)
	}
	return c, nil
}

// Param finds a tensor by name ("conv1.weight", "bn1.running_var"). It
// thaws a frozen net (Freeze).
func (n *Net) Param(name string) *Param {
	n.Thaw()
	return n.param(name)
}

// param is Param without thawing, for callers in this package that only
// read the tensor.
func (n *Net) param(name string) *Param {
	for _, p := range n.tensors() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ZeroGrad clears every parameter gradient. Gradients are not what Freeze
// promises about: a frozen net stays frozen.
func (n *Net) ZeroGrad() {
	for _, l := range n.Layers {
		for _, p := range l.Params() {
			zero(p.Grad)
		}
	}
}

// Classes is the number of outputs per example.
func (n *Net) Classes() int { return n.Shapes[len(n.Shapes)-1][0] }

// Forward runs the whole net on x ([N, C, H, W]) and returns the output
// [N, classes, 1, 1] for a net ending in global average pooling. train
// enables dropout.
func (n *Net) Forward(x *Tensor, train bool) (*Tensor, error) {
	return n.ForwardTo(x, len(n.Layers)-1, train)
}

// ForwardTo runs layers 0..last and returns the output of layer last.
func (n *Net) ForwardTo(x *Tensor, last int, train bool) (*Tensor, error) {
	if err := n.checkInput(x); err != nil {
		return nil, err
	}
	if last < 0 || last >= len(n.Layers) {
		return nil, fmt.Errorf("kernel: layer %d out of range [0, %d)", last, len(n.Layers))
	}
	for i, l := range n.Layers[:last+1] {
		switch {
		case n.fused[i] && i < last:
			x = l.(rectifying).forward(x, train, true)
		case i > 0 && n.fused[i-1]:
			// Layer i-1 ran fused (i-1 < last): x is rectified.
			x = l.(*ReLU).pass(x)
		default:
			x = l.Forward(x, train)
		}
	}
	n.ran = last + 1
	return x, nil
}

// checkInput checks that x is a batch of the net's inputs.
func (n *Net) checkInput(x *Tensor) error {
	in := n.Spec.Input
	if len(x.Shape) != 4 || x.Shape[0] < 1 || x.Shape[1] != in[0] || x.Shape[2] != in[1] || x.Shape[3] != in[2] {
		return fmt.Errorf("kernel: input %v, want [N %d %d %d]: %w", x.Shape, in[0], in[1], in[2], ErrShape)
	}
	return nil
}

// Backward propagates dy, the signal for the output of the last forward
// pass, back to the input, and returns the input's signal when p.Input.
func (n *Net) Backward(dy *Tensor, p Pass) (*Tensor, error) {
	return n.BackwardFrom(n.ran-1, dy, p)
}

// BackwardFrom propagates dy, a signal for the output of layer last, down
// to the input. The forward pass must have run at least to layer last.
// When p.Input is false, layers below the lowest one with parameters are
// skipped.
func (n *Net) BackwardFrom(last int, dy *Tensor, p Pass) (*Tensor, error) {
	if last < 0 || last >= n.ran {
		return nil, fmt.Errorf("kernel: backward from layer %d, but the forward pass ran %d layers", last, n.ran)
	}
	want := n.Shapes[last]
	if len(dy.Shape) != 4 || dy.Shape[1] != want[0] || dy.Shape[2] != want[1] || dy.Shape[3] != want[2] {
		return nil, fmt.Errorf("kernel: signal %v for layer %d, want [N %d %d %d]: %w", dy.Shape, last, want[0], want[1], want[2], ErrShape)
	}
	// Without an input signal, stop at the lowest layer with parameters.
	lowest := 0
	if !p.Input {
		lowest = last + 1
		for i, l := range n.Layers[:last+1] {
			if len(l.Params()) > 0 {
				lowest = i
				break
			}
		}
	}
	skip := -1 // a rectifier whose pass the convolution above it ran
	for i := last; i >= lowest; i-- {
		q := p
		q.Input = p.Input || i > lowest
		if i == skip {
			continue // dy is its input gradient already
		}
		if c, ok := n.Layers[i].(*Conv2D); ok && q.Input {
			if j, r := n.rectifierBelow(c, i, lowest, q.Rule.ReLU); r != nil {
				var done bool
				if dy, done = c.backward(dy, q, r); done {
					skip = j
				}
				continue
			}
		}
		dy = n.Layers[i].Backward(dy, q)
	}
	if !p.Input {
		return nil, nil
	}
	return dy, nil
}

// rectifierBelow finds the plain rectifier whose output is the input of
// convolution c (layer i), with only dropouts that passed it unchanged
// between them, at or above layer lowest, and returns its index and its
// backward pass under rule for c to apply to its input gradient as it
// writes it (Conv2D.backward): a pass over the gradient the fewer, each
// channel masked while it is in cache. r is nil where there is none.
func (n *Net) rectifierBelow(c *Conv2D, i, lowest int, rule ReLURule) (j int, r *engine.Rectifier) {
	for j = i - 1; j >= lowest; j-- {
		if _, ok := n.Layers[j].(*Dropout); !ok {
			break
		}
	}
	if j < lowest {
		return 0, nil
	}
	relu, ok := n.Layers[j].(*ReLU)
	if !ok || relu.Slope != 0 || relu.y == nil || relu.y != c.x {
		return 0, nil
	}
	switch rule {
	case Gradient:
		return j, &engine.Rectifier{Y: relu.y.Data}
	case Deconvnet:
		return j, &engine.Rectifier{Self: true}
	case Guided:
		return j, &engine.Rectifier{Y: relu.y.Data, Self: true}
	}
	return 0, nil
}

// Index returns the position of the layer called name.
func (n *Net) Index(name string) (int, bool) {
	for i, l := range n.Spec.Layers {
		if l.Name == name && name != "" {
			return i, true
		}
	}
	return 0, false
}

// Unit returns the layer whose output holds the units of the layer called
// name: a convolution followed by a rectifier names the rectifier's output
// (the unit's activation), any other layer names its own output.
func (n *Net) Unit(name string) (int, error) {
	i, ok := n.Index(name)
	if !ok {
		return 0, fmt.Errorf("kernel: no layer %q in %s (layers: %v)", name, n.Spec.Name, n.Names())
	}
	if i+1 < len(n.Spec.Layers) {
		if t := n.Spec.Layers[i+1].Type; n.Spec.Layers[i].Type == TypeConv && (t == TypeReLU || t == TypeLeakyReLU) {
			return i + 1, nil
		}
	}
	return i, nil
}

// Names lists the named layers.
func (n *Net) Names() []string {
	var s []string
	for _, l := range n.Spec.Layers {
		if l.Name != "" {
			s = append(s, l.Name)
		}
	}
	return s
}
