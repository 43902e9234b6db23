package kernel

import "fmt"

// BatchNormSuffix names the batchnorm that WithBatchNorm puts after the
// convolution NAME: NAME + BatchNormSuffix.
const BatchNormSuffix = "_bn"

// WithBatchNorm returns s with a batch-normalisation layer (default ε and
// momentum) right after every convolution but the last, the class layer:
// the net to train for a plain one that FoldBatchNorm gives back. The
// spec's name is kept.
func WithBatchNorm(s Spec) (Spec, error) {
	if _, err := s.Shapes(); err != nil {
		return Spec{}, err
	}
	if s.HasBatchNorm() {
		return Spec{}, fmt.Errorf("%w: %s already has batch normalisation", ErrSpec, s.Name)
	}
	last := -1
	for i, l := range s.Layers {
		if l.Type == TypeConv {
			last = i
		}
	}
	out := Spec{Name: s.Name, Input: s.Input}
	for i, l := range s.Layers {
		out.Layers = append(out.Layers, l)
		if l.Type == TypeConv && i != last {
			out.Layers = append(out.Layers, LayerSpec{Type: TypeBatchNorm, Name: l.Name + BatchNormSuffix})
		}
	}
	if _, err := out.Shapes(); err != nil {
		return Spec{}, err
	}
	return out, nil
}

// HasBatchNorm is whether any layer of s is a batchnorm.
func (s *Spec) HasBatchNorm() bool {
	for _, l := range s.Layers {
		if l.Type == TypeBatchNorm {
			return true
		}
	}
	return false
}

// WithoutBatchNorm returns s without its batchnorm layers: the architecture
// that FoldBatchNorm gives back.
func (s *Spec) WithoutBatchNorm() Spec {
	out := Spec{Name: s.Name, Input: s.Input}
	for _, l := range s.Layers {
		if l.Type != TypeBatchNorm {
			out.Layers = append(out.Layers, l)
		}
	}
	return out
}

// FoldBatchNorm returns a net without batch normalisation that computes
// what n computes in evaluation mode: each batchnorm, which must follow a
// convolution directly, is merged into it,
//
//	W' = s·W, b' = s·b + t, with s = γ/√(σ²_run + ε) and t = β − μ_run·s
//
// per output channel (in float64, then rounded). Every other layer and
// tensor is copied; n is not changed. A net without batchnorm comes back
// as a copy.
func FoldBatchNorm(n *Net) (*Net, error) {
	for i, l := range n.Spec.Layers {
		if l.Type == TypeBatchNorm && (i == 0 || n.Spec.Layers[i-1].Type != TypeConv) {
			return nil, fmt.Errorf("kernel: batchnorm %q does not follow a convolution, so it cannot be folded", l.Name)
		}
	}
	m, err := n.build(n.Spec.WithoutBatchNorm())
	if err != nil {
		return nil, err
	}
	for _, p := range m.Tensors() {
		q := n.param(p.Name)
		if q == nil || len(q.Data) != len(p.Data) {
			return nil, fmt.Errorf("kernel: fold: tensor %q missing or of another size", p.Name)
		}
		copy(p.Data, q.Data)
	}
	for i, l := range n.Layers {
		bn, ok := l.(*BatchNorm)
		if !ok {
			continue
		}
		conv := n.Layers[i-1].(*Conv2D)
		into, ok := m.Layers[i-1-countBN(n.Layers[:i])].(*Conv2D)
		if !ok || into.spec.Name != conv.spec.Name {
			return nil, fmt.Errorf("kernel: fold: layer order of %q changed", bn.spec.Name)
		}
		scale, shift := bn.Scale()
		per := len(conv.Weight.Data) / conv.OutC
		for o := range conv.OutC {
			for j := o * per; j < (o+1)*per; j++ {
				into.Weight.Data[j] = float32(float64(conv.Weight.Data[j]) * scale[o])
			}
			into.Bias.Data[o] = float32(float64(conv.Bias.Data[o])*scale[o] + shift[o])
		}
	}
	return m, nil
}

func countBN(ls []Layer) int {
	k := 0
	for _, l := range ls {
		if _, ok := l.(*BatchNorm); ok {
			k++
		}
	}
	return k
}
