package kernel

import "fmt"

// SwitchedSpec is the transform of the paper's Figs. 4–5: each convolution
// with stride 2 becomes the same convolution with stride 1, followed (after
// its activation) by 2×2 max-pooling with stride 2, so that a trained
// all-conv net gains pooling switches. The pool rounds up (Caffe's ceil)
// so that the output size is the strided convolution's: 32 → 16 → 8 in
// All-CNN-C, 55 → 27 in the ImageNet net. Parameter names are unchanged;
// the pool after layer NAME is called NAME.pool.
func SwitchedSpec(s Spec) (Spec, error) {
	if _, err := s.Shapes(); err != nil {
		return Spec{}, err
	}
	out := s
	out.Name = s.Name + "+switches"
	out.Layers = nil
	for i := 0; i < len(s.Layers); i++ {
		l := s.Layers[i]
		if l.Type != TypeConv || l.stride() != 2 {
			out.Layers = append(out.Layers, l)
			continue
		}
		l.Stride = 1
		out.Layers = append(out.Layers, l)
		if i+1 < len(s.Layers) && (s.Layers[i+1].Type == TypeReLU || s.Layers[i+1].Type == TypeLeakyReLU) {
			i++
			out.Layers = append(out.Layers, s.Layers[i])
		}
		out.Layers = append(out.Layers, LayerSpec{Type: TypeMaxPool, Name: l.Name + ".pool", Kernel: 2, Stride: 2, Ceil: true})
	}
	if _, err := out.Shapes(); err != nil {
		return Spec{}, fmt.Errorf("kernel: switched %s: %w", s.Name, err)
	}
	return out, nil
}

// WithSwitches returns the SwitchedSpec of n as a new net holding a copy of
// n's weights.
func (n *Net) WithSwitches() (*Net, error) {
	s, err := SwitchedSpec(n.Spec)
	if err != nil {
		return nil, err
	}
	m, err := n.build(s)
	if err != nil {
		return nil, err
	}
	for _, p := range m.Tensors() {
		copy(p.Data, n.param(p.Name).Data)
	}
	return m, nil
}
