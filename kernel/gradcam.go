package kernel

import "fmt"

// GradCAM returns, for each example of x, the class-activation map of its
// target at the named layer: ReLU(Σ_c α_c A_c), A_c being channel c of the
// layer's activations (the rectified ones, for a convolution followed by a
// rectifier; see Net.Unit) and α_c the mean over the map of the target's
// gradient with respect to A_c. The map is [N, 1, h, w] at the layer's size
// (UpsampleNearest brings it to the input's). The target must lie above the
// layer.
func (n *Net) GradCAM(x *Tensor, targets []Target, layer string) (*Tensor, []Target, error) {
	at, err := n.Unit(layer)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	act, err := n.ForwardTo(x, at, false)
	if err != nil {
		return nil, nil, err
	}
	act = act.Clone()
	top, seed, used, err := n.seedSignal(x, targets)
	if err != nil {
		return nil, nil, err
	}
	if top <= at {
		return nil, nil, fmt.Errorf("kernel: Grad-CAM at %q needs a target above it, not %v: %w", layer, used[0], ErrTarget)
	}
	g := seed
	for i := top; i > at; i-- {
		g = n.Layers[i].Backward(g, Pass{Rule: Rule{ReLU: Gradient}, Input: true})
	}
	sh := n.Shapes[at]
	hw := sh[1] * sh[2]
	cam := NewTensor(x.N(), 1, sh[1], sh[2])
	for i := range x.N() {
		a, d, dst := act.Example(i), g.Example(i), cam.Example(i)
		sum := make([]float64, hw)
		for c := range sh[0] {
			var alpha float64
			for _, v := range d[c*hw : (c+1)*hw] {
				alpha += float64(v)
			}
			alpha /= float64(hw)
			for k, v := range a[c*hw : (c+1)*hw] {
				sum[k] += alpha * float64(v)
			}
		}
		for k, v := range sum {
			dst[k] = float32(max(v, 0))
		}
	}
	return cam, used, nil
}

// GuidedGradCAM returns guided backpropagation's map (Saliency with the
// Guided rule and switches) times the Grad-CAM map at layer brought to the
// input's size by UpsampleNearest, for every input channel.
func (n *Net) GuidedGradCAM(x *Tensor, targets []Target, layer string) (*Tensor, []Target, error) {
	cam, used, err := n.GradCAM(x, targets, layer)
	if err != nil {
		return nil, nil, err
	}
	m, _, err := n.Saliency(x, used, Rule{ReLU: Guided})
	if err != nil {
		return nil, nil, err
	}
	up := UpsampleNearest(cam, x.H(), x.W())
	hw := x.H() * x.W()
	for i := range x.N() {
		e, u := m.Example(i), up.Example(i)
		for c := range x.C() {
			for k := range hw {
				e[c*hw+k] *= u[k]
			}
		}
	}
	return m, used, nil
}

// UpsampleNearest returns m ([N, C, h, w]) at h2×w2, each output pixel
// taking the value of input pixel (⌊y·h/h2⌋, ⌊x·w/w2⌋), as PyTorch's
// interpolate(mode="nearest") does.
func UpsampleNearest(m *Tensor, h2, w2 int) *Tensor {
	n, c, h, w := m.N(), m.C(), m.H(), m.W()
	out := NewTensor(n, c, h2, w2)
	for p := range n * c {
		src, dst := m.Data[p*h*w:(p+1)*h*w], out.Data[p*h2*w2:(p+1)*h2*w2]
		for y := range h2 {
			sy := y * h / h2
			for x := range w2 {
				dst[y*w2+x] = src[sy*w+x*w/w2]
			}
		}
	}
	return out
}
