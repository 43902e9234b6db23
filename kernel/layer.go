package kernel

// Layer is one stage of a network. Forward keeps what Backward needs (the
// input, switches, masks), so calls alternate: Forward, then at most one
// Backward per Forward. Outputs are buffers owned by the layer and reused by
// the next call, whatever its shape (a smaller batch writes into the larger
// one's memory); copy them to keep them. A rectifier that follows a
// convolution in a Net may return the convolution's output itself.
type Layer interface {
	// Spec is the layer as data.
	Spec() LayerSpec
	// Forward computes the output for x. train enables dropout.
	Forward(x *Tensor, train bool) *Tensor
	// Backward takes the signal for the last output and returns the signal
	// for the input (nil unless p.Input). With p.Params it adds parameter
	// gradients to each Param's Grad.
	Backward(dy *Tensor, p Pass) *Tensor
	// Params are the learnable tensors (none for most layers).
	Params() []*Param
}

// Param is a learnable tensor and its accumulated gradient.
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
}

func newParam(name string, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n)}
}
