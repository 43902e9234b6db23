// Package optim holds the optimiser that training and the training
// benchmark share: SGD with momentum and weight decay in the paper's
// (Caffe's) form.
package optim

import "github.com/allcnn/allcnn/kernel"

// SGD is stochastic gradient descent with momentum and L2 weight decay in
// Caffe's form, the solver the paper used:
//
//	v ← μ·v + lr·(∇L + λ·w)
//	w ← w − v
//
// Unlike PyTorch's form (v ← μ·v + g; w ← w − lr·v), a learning-rate drop
// takes effect gradually, through the velocity. Weight decay applies to all
// layers, biases included (NOTES.md §5: "on all layers").
//
// With Nesterov the step looks ahead along the new velocity (Sutskever et
// al. 2013, in the same form): w ← w − (μ·v + lr·(∇L + λ·w)).
type SGD struct {
	Momentum    float32
	WeightDecay float32
	Nesterov    bool
	// Velocity holds one buffer per parameter, in the net's order.
	Velocity [][]float32
}

// Step updates the parameters from their accumulated gradients at rate lr.
func (o *SGD) Step(params []*kernel.Param, lr float32) {
	if len(o.Velocity) != len(params) {
		o.Velocity = make([][]float32, len(params))
		for i, p := range params {
			o.Velocity[i] = make([]float32, len(p.Data))
		}
	}
	mu, wd := o.Momentum, o.WeightDecay
	for i, p := range params {
		v := o.Velocity[i]
		if o.Nesterov {
			for j, g := range p.Grad {
				d := lr * (g + wd*p.Data[j])
				v[j] = mu*v[j] + d
				p.Data[j] -= mu*v[j] + d
			}
			continue
		}
		for j, g := range p.Grad {
			v[j] = mu*v[j] + lr*(g+wd*p.Data[j])
			p.Data[j] -= v[j]
		}
	}
}
