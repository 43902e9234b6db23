package trainer

import "github.com/allcnn/allcnn/kernel"

// SGD is stochastic gradient descent with momentum and L2 weight decay in
// Caffe's form, the solver the paper used:
//
//	v ← μ·v + lr·(∇L + λ·w)
//	w ← w − v
//
// Unlike PyTorch's form (v ← μ·v + g; w ← w − lr·v), a learning-rate drop
// takes effect gradually, through the velocity. Weight decay applies to all
// layers, biases included (PAPER.md §5: "on all layers").
type SGD struct {
	Momentum    float32
	WeightDecay float32
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
		for j, g := range p.Grad {
			v[j] = mu*v[j] + lr*(g+wd*p.Data[j])
			p.Data[j] -= v[j]
		}
	}
}

// Schedule is a step learning rate: Base, multiplied by Gamma after each
// epoch listed in Milestones (PAPER.md §5: ×0.1 after epochs 200, 250, 300).
type Schedule struct {
	Base       float64
	Milestones []int
	Gamma      float64
}

// At is the rate for epoch e, counted from 1.
func (s Schedule) At(e int) float64 {
	lr := s.Base
	for _, m := range s.Milestones {
		if e > m {
			lr *= s.Gamma
		}
	}
	return lr
}
