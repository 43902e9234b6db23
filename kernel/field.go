package kernel

// ReceptiveField returns the input rectangle [y0, y1) × [x0, x1) that the
// unit at (y, x) of layer i's output sees, clipped to the image. Each conv
// or pool maps an output range [a, b) to the input range
// [a·s − pad, (b−1)·s − pad + k).
func (n *Net) ReceptiveField(i, y, x int) (y0, y1, x0, x1 int) {
	y0, y1, x0, x1 = y, y+1, x, x+1
	for j := i; j >= 0; j-- {
		l := n.Spec.Layers[j]
		switch l.Type {
		case TypeConv, TypeMaxPool, TypePNorm:
			s, k, p := l.stride(), l.Kernel, l.Pad
			y0, y1 = y0*s-p, (y1-1)*s-p+k
			x0, x1 = x0*s-p, (x1-1)*s-p+k
		case TypeGAP:
			in := n.Spec.Input
			if j > 0 {
				in = n.Shapes[j-1]
			}
			y0, y1, x0, x1 = 0, in[1], 0, in[2]
		}
	}
	in := n.Spec.Input
	return max(y0, 0), min(y1, in[1]), max(x0, 0), min(x1, in[2])
}
