package kernel

// ParamCount is the number of learnable scalars (weights and biases; a
// batchnorm's running statistics are not counted).
func (s *Spec) ParamCount() (int, error) {
	ps, err := s.ParamShapes()
	if err != nil {
		return 0, err
	}
	total := 0
	for _, p := range ps {
		if p.Buffer {
			continue
		}
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		total += n
	}
	return total, nil
}

// MACs is the number of multiply-accumulates of the convolutions in a
// forward pass of one example (pooling, activations and biases excluded,
// as in NOTES.md §2).
func (s *Spec) MACs() (int64, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return 0, err
	}
	var total int64
	in := s.Input[0]
	for i, l := range s.Layers {
		o := shapes[i]
		if l.Type == TypeConv {
			total += int64(o[0]) * int64(o[1]) * int64(o[2]) * int64(in) * int64(l.Kernel) * int64(l.Kernel)
		}
		in = o[0]
	}
	return total, nil
}
