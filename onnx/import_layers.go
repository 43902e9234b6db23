package onnx

import (
	"fmt"
	"math"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// window reads the geometry of a square sliding window (Conv and the
// pools): kernel_shape (k, which a Conv's weight fixes and a pool's
// attribute gives), strides, pads and dilations, auto_pad, and for pools
// ceil_mode. allcnn's layers are square, stride and pad alike on both
// axes and every side, dilation 1.
func (im *importer) window(a *attrs, k int, pool bool) (stride, pad int, ceil bool, err error) {
	ks, err := a.ints("kernel_shape")
	if err != nil {
		return 0, 0, false, err
	}
	if pool {
		if len(ks) != 2 || !allEqual(ks) || ks[0] < 1 || ks[0] > kernel.MaxKernel {
			return 0, 0, false, fmt.Errorf("%w: kernel_shape %v (want a square window of at most %d)", ErrUnsupported, ks, kernel.MaxKernel)
		}
		k = int(ks[0])
	} else if ks != nil && (len(ks) != 2 || ks[0] != int64(k) || ks[1] != int64(k)) {
		return 0, 0, false, fmt.Errorf("%w: kernel_shape %v for a %d×%d weight", ErrMalformed, ks, k, k)
	}
	st, err := a.ints("strides")
	if err != nil {
		return 0, 0, false, err
	}
	stride = 1
	if st != nil {
		if len(st) != 2 || !allEqual(st) || st[0] < 1 || st[0] > kernel.MaxKernel {
			return 0, 0, false, fmt.Errorf("%w: strides %v (want two equal strides of 1 to %d)", ErrUnsupported, st, kernel.MaxKernel)
		}
		stride = int(st[0])
	}
	if d, err := a.ints("dilations"); err != nil {
		return 0, 0, false, err
	} else if d != nil && (len(d) != 2 || d[0] != 1 || d[1] != 1) {
		return 0, 0, false, fmt.Errorf("%w: dilations %v (want 1)", ErrUnsupported, d)
	}
	if pool {
		c, err := a.int("ceil_mode", 0)
		if err != nil {
			return 0, 0, false, err
		}
		ceil = c != 0
	}
	pads, err := a.ints("pads")
	if err != nil {
		return 0, 0, false, err
	}
	if pads != nil {
		if len(pads) != 4 || !allEqual(pads) || pads[0] < 0 || pads[0] > kernel.MaxKernel {
			return 0, 0, false, fmt.Errorf("%w: pads %v (want the same padding on every side)", ErrUnsupported, pads)
		}
		pad = int(pads[0])
	}
	if im.pending > 0 && ceil {
		return 0, 0, false, fmt.Errorf("%w: ceil_mode after a Pad", ErrUnsupported)
	}
	pad += im.pending
	im.pending = 0
	if pad >= k {
		return 0, 0, false, fmt.Errorf("%w: padding %d (want less than the kernel, %d)", ErrUnsupported, pad, k)
	}
	autoPad, err := a.str("auto_pad", "NOTSET")
	if err != nil {
		return 0, 0, false, err
	}
	switch autoPad {
	case "NOTSET":
	case "VALID":
		pad = 0
	case "SAME_UPPER", "SAME_LOWER":
		if pad > 0 {
			return 0, 0, false, fmt.Errorf("%w: auto_pad %s after a Pad", ErrUnsupported, autoPad)
		}
		sh := im.shape()
		p, ok := samePad(sh[1], k, stride)
		if q, ok2 := samePad(sh[2], k, stride); !ok || !ok2 || p != q || p >= k || ceil {
			return 0, 0, false, fmt.Errorf("%w: auto_pad %s pads a %d×%d map unevenly for kernel %d, stride %d", ErrUnsupported, autoPad, sh[1], sh[2], k, stride)
		}
		pad = p
	default:
		return 0, 0, false, fmt.Errorf("%w: auto_pad %q", ErrMalformed, autoPad)
	}
	return stride, pad, ceil, nil
}

// samePad is the padding on each side that SAME auto-padding gives an
// axis of n, if it is the same on both sides.
func samePad(n, k, stride int) (int, bool) {
	out := (n + stride - 1) / stride
	total := max((out-1)*stride+k-n, 0)
	return total / 2, total%2 == 0
}

// floats returns the constant input i of n as float32 values of the given
// rank.
func (im *importer) floats(n *pb.NodeProto, i, rank int, what string) (*tensor, error) {
	t, err := im.constant(n, i)
	if err != nil {
		return nil, err
	}
	if t.floats == nil || len(t.shape) != rank {
		return nil, fmt.Errorf("%w: %s %q is not a float32 tensor of rank %d (shape %v)", ErrUnsupported, what, t.name, rank, t.shape)
	}
	return t, nil
}

// vector returns the optional constant input i of n as c float32 values:
// shape [c], or one value (any shape of one element) repeated; def where
// the input is absent.
func (im *importer) vector(n *pb.NodeProto, i, c int, what string, def float32) ([]float32, error) {
	t, err := im.input(n, i)
	if err != nil {
		return nil, err
	}
	v := make([]float32, c)
	switch {
	case t == nil:
		for j := range v {
			v[j] = def
		}
	case t.floats != nil && len(t.floats) == 1 && len(t.shape) <= 2:
		for j := range v {
			v[j] = t.floats[0]
		}
	case t.floats != nil && len(t.floats) == c && (len(t.shape) == 1 || len(t.shape) == 2 && t.shape[0] == 1):
		copy(v, t.floats)
	default:
		return nil, fmt.Errorf("%w: %s %q has shape %v, want [%d]", ErrMalformed, what, t.name, t.shape, c)
	}
	return v, nil
}

// conv imports a Conv: a square kernel of any size, stride and padding,
// dilation 1, one group, an optional bias.
func (im *importer) conv(n *pb.NodeProto, a *attrs) error {
	if err := im.spatial(); err != nil {
		return err
	}
	if len(n.GetInput()) < 2 {
		return fmt.Errorf("%w: no weight", ErrMalformed)
	}
	w, err := im.floats(n, 1, 4, "weight")
	if err != nil {
		return err
	}
	out, c, kh, kw := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	if group, err := a.int("group", 1); err != nil {
		return err
	} else if group != 1 {
		return fmt.Errorf("%w: group %d (want 1)", ErrUnsupported, group)
	}
	if in := im.shape()[0]; c != in {
		return fmt.Errorf("%w: the weight takes %d channels, the input has %d", ErrMalformed, c, in)
	}
	if kh != kw {
		return fmt.Errorf("%w: a %d×%d kernel (want a square one)", ErrUnsupported, kh, kw)
	}
	b, err := im.vector(n, 2, out, "bias", 0)
	if err != nil {
		return err
	}
	stride, pad, _, err := im.window(a, kh, false)
	if err != nil {
		return err
	}
	name := im.name(n, "conv")
	l := kernel.LayerSpec{Type: kernel.TypeConv, Name: name, Out: out, Kernel: kh, Stride: stride, Pad: pad}
	if err := im.add(l, n, 3); err != nil {
		return err
	}
	im.addConvTensors(name, w.shape, append([]float32(nil), w.floats...), b)
	return nil
}

func (im *importer) addConvTensors(name string, shape []int, w, b []float32) {
	im.tensors = append(im.tensors,
		format.Tensor{Name: name + ".weight", Shape: shape, Data: w},
		format.Tensor{Name: name + ".bias", Shape: []int{shape[0]}, Data: b})
}

// gemm imports a Gemm after a Flatten as a 1×1 convolution: y = α·A·B' +
// β·C with B' = B or its transpose, A the flattened N×K input.
func (im *importer) gemm(n *pb.NodeProto, a *attrs) error {
	if !im.flat {
		return fmt.Errorf("%w: Gemm only after Flatten of a 1×1 map (global pooling)", ErrUnsupported)
	}
	if len(n.GetInput()) < 2 {
		return fmt.Errorf("%w: no weight", ErrMalformed)
	}
	alpha, err := a.float("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := a.float("beta", 1)
	if err != nil {
		return err
	}
	transA, err := a.int("transA", 0)
	if err != nil {
		return err
	}
	transB, err := a.int("transB", 0)
	if err != nil {
		return err
	}
	if transA != 0 {
		return fmt.Errorf("%w: transA %d (the input is N×K)", ErrUnsupported, transA)
	}
	bt, err := im.floats(n, 1, 2, "weight")
	if err != nil {
		return err
	}
	k, out := bt.shape[0], bt.shape[1]
	if transB != 0 {
		k, out = out, k
	}
	if in := im.shape()[0]; k != in {
		return fmt.Errorf("%w: the weight takes %d features, the input has %d", ErrMalformed, k, in)
	}
	bias, err := im.vector(n, 2, out, "C", 0)
	if err != nil {
		return err
	}
	name := im.name(n, "fc")
	if err := im.add(kernel.LayerSpec{Type: kernel.TypeConv, Name: name, Out: out, Kernel: 1, Stride: 1}, n, 3); err != nil {
		return err
	}
	w := make([]float32, out*k)
	for o := range out {
		for j := range k {
			v := bt.floats[j*out+o] // B[j][o]
			if transB != 0 {
				v = bt.floats[o*k+j] // B[o][j]
			}
			w[o*k+j] = alpha * v
		}
	}
	for o := range bias {
		bias[o] *= beta
	}
	im.addConvTensors(name, []int{out, k, 1, 1}, w, bias)
	return nil
}

// batchNorm folds a BatchNormalization into the convolution before it,
// as kernel.FoldBatchNorm does: W' = s·W, b' = s·b + β − μ·s with
// s = γ/√(σ² + ε), per output channel, in float64.
func (im *importer) batchNorm(n *pb.NodeProto, a *attrs) error {
	ls := im.spec.Layers
	if len(ls) == 0 || ls[len(ls)-1].Type != kernel.TypeConv {
		return fmt.Errorf("%w: BatchNormalization only right after a Conv or Gemm, into which it is folded", ErrUnsupported)
	}
	eps, err := a.float("epsilon", 1e-5)
	if err != nil {
		return err
	}
	if training, err := a.int("training_mode", 0); err != nil {
		return err
	} else if training != 0 {
		return fmt.Errorf("%w: training_mode %d", ErrUnsupported, training)
	}
	if spatial, err := a.int("spatial", 1); err != nil {
		return err
	} else if spatial != 1 {
		return fmt.Errorf("%w: spatial %d", ErrUnsupported, spatial)
	}
	a.ignore("momentum", "is_test", "consumed_inputs")
	if len(n.GetInput()) != 5 {
		return fmt.Errorf("%w: %d inputs (want 5)", ErrMalformed, len(n.GetInput()))
	}
	c := im.shape()[0]
	var v [4][]float32
	for i, what := range []string{"scale", "B", "mean", "var"} {
		t, err := im.input(n, i+1)
		if err != nil {
			return err
		}
		if t == nil || t.floats == nil || len(t.shape) != 1 || t.shape[0] != c {
			return fmt.Errorf("%w: %s is not %d float32 values", ErrMalformed, what, c)
		}
		v[i] = t.floats
	}
	conv := ls[len(ls)-1].Name
	w, b := im.tensor(conv+".weight"), im.tensor(conv+".bias")
	per := len(w.Data) / c
	for o := range c {
		s := float64(v[0][o]) / math.Sqrt(float64(v[3][o])+float64(eps))
		for j := o * per; j < (o+1)*per; j++ {
			w.Data[j] = float32(float64(w.Data[j]) * s)
		}
		b.Data[o] = float32(float64(b.Data[o])*s + float64(v[1][o]) - float64(v[2][o])*s)
	}
	return nil
}

// dropout imports a Dropout with its ratio (an input from opset 12, an
// attribute before); it must not be in training mode.
func (im *importer) dropout(n *pb.NodeProto, a *attrs) error {
	ratio, err := a.float("ratio", 0.5)
	if err != nil {
		return err
	}
	a.ignore("seed", "is_test")
	if r, err := im.vector(n, 1, 1, "ratio", ratio); err != nil {
		return err
	} else {
		ratio = r[0]
	}
	if t, err := im.input(n, 2); err != nil {
		return err
	} else if t != nil && (len(t.ints) != 1 || t.ints[0] != 0) {
		return fmt.Errorf("%w: training_mode is not a constant false", ErrUnsupported)
	}
	return im.add(kernel.LayerSpec{Type: kernel.TypeDropout, P: ratio}, n, 3)
}

// pool imports a MaxPool or an LpPool (p-norm subsampling, the paper's
// Eq. 1).
func (im *importer) pool(op string, n *pb.NodeProto, a *attrs) error {
	if err := im.spatial(); err != nil {
		return err
	}
	l := kernel.LayerSpec{Type: kernel.TypeMaxPool}
	if op == "LpPool" {
		p, err := a.int("p", 2)
		if err != nil {
			return err
		}
		if p < 1 || p > 1<<24 {
			return fmt.Errorf("%w: p %d", ErrUnsupported, p)
		}
		l = kernel.LayerSpec{Type: kernel.TypePNorm, P: float32(p)}
	} else {
		a.ignore("storage_order") // the layout of the Indices output, which must be unused
	}
	stride, pad, ceil, err := im.window(a, 0, true)
	if err != nil {
		return err
	}
	ks, _ := a.ints("kernel_shape")
	l.Name, l.Kernel, l.Stride, l.Pad, l.Ceil = im.name(n, "pool"), int(ks[0]), stride, pad, ceil
	return im.add(l, n, 1)
}

// averagePool imports an AveragePool as a convolution whose weights are
// 1/k² from each channel to itself and 0 across channels: exact where
// every window has k² values, that is where it has no padding or counts
// the padding (count_include_pad, PyTorch's default), and where ceil_mode
// adds no partial window. allcnn has no averaging layer of its own
// (RATIONALE.md).
func (im *importer) averagePool(n *pb.NodeProto, a *attrs) error {
	if err := im.spatial(); err != nil {
		return err
	}
	zeros := im.pending // a Pad's zeros count, whatever count_include_pad says
	stride, pad, ceil, err := im.window(a, 0, true)
	if err != nil {
		return err
	}
	ks, _ := a.ints("kernel_shape")
	k := int(ks[0])
	include, err := a.int("count_include_pad", 0)
	if err != nil {
		return err
	}
	if pad > zeros && include == 0 {
		return fmt.Errorf("%w: padding left out of the average (count_include_pad 0) is not a convolution", ErrUnsupported)
	}
	sh := im.shape()
	c := sh[0]
	if ceil && (kernel.PoolOut(sh[1], k, stride, pad, true) != kernel.ConvOut(sh[1], k, stride, pad) ||
		kernel.PoolOut(sh[2], k, stride, pad, true) != kernel.ConvOut(sh[2], k, stride, pad)) {
		return fmt.Errorf("%w: ceil_mode adds windows that hang over the edge, which a convolution does not average", ErrUnsupported)
	}
	if c*c > im.budget/(k*k) {
		return fmt.Errorf("%w: as a convolution, the average over %d channels takes %d²·%d² weights (at most %d more)", ErrLimit, c, c, k, im.budget)
	}
	im.budget -= c * c * k * k
	name := im.name(n, "avgpool")
	if err := im.add(kernel.LayerSpec{Type: kernel.TypeConv, Name: name, Out: c, Kernel: k, Stride: stride, Pad: pad}, n, 1); err != nil {
		return err
	}
	w := make([]float32, c*c*k*k)
	for ch := range c {
		for j := range k * k {
			w[(ch*c+ch)*k*k+j] = 1 / float32(k*k)
		}
	}
	im.addConvTensors(name, []int{c, c, k, k}, w, make([]float32, c))
	return nil
}

// flatten accepts a Flatten at axis 1 of a 1×1 map: it changes the shape,
// not the values.
func (im *importer) flatten(n *pb.NodeProto, a *attrs) error {
	axis, _, err := im.axis(a, 1)
	if err != nil {
		return err
	}
	if sh := im.shape(); axis != 1 || sh[1] != 1 || sh[2] != 1 {
		return fmt.Errorf("%w: Flatten at axis %d of a %d×%d map (want axis 1 of a 1×1 map, after global pooling)", ErrUnsupported, axis, sh[1], sh[2])
	}
	if len(n.GetInput()) != 1 {
		return fmt.Errorf("%w: %d inputs", ErrMalformed, len(n.GetInput()))
	}
	im.flat = true
	return nil
}

// axis reads the attribute "axis" (def when absent) and counts a negative
// one from the end of the current value's rank (2 once flattened, else 4),
// which it returns too.
func (im *importer) axis(a *attrs, def int64) (axis, rank int64, err error) {
	if axis, err = a.int("axis", def); err != nil {
		return 0, 0, err
	}
	rank = 4
	if im.flat {
		rank = 2
	}
	if axis < 0 {
		axis += rank
	}
	return axis, rank, nil
}
