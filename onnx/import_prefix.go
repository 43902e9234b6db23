package onnx

import (
	"fmt"
	"math"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// The nodes before the net may state its input contract, as Export writes
// it: x/255 (Div by 255 or Mul by 1/255: the graph takes pixel values;
// without it, values in [0, 1]), then −mean (Sub) and /std (Div, or Mul by
// 1/std) per channel, then the placement: a centred zero canvas (Pad) or a
// central crop (Slice). They become the weight file's preprocess.Params
// and are not layers. Each may be left out, none may come twice or out of
// this order, and none may come after the first layer.

// normalize imports a leading Div, Sub or Mul by a constant.
func (im *importer) normalize(op string, n *pb.NodeProto) error {
	if im.stage >= stagePlaced {
		return fmt.Errorf("%w: %s inside the net (only a leading normalisation, x/255, −mean, /std, before any layer or placement)", ErrUnsupported, op)
	}
	if im.userPre {
		return fmt.Errorf("%w: the graph normalises its input itself, and the options give a mean and deviation too", ErrUnsupported)
	}
	if len(n.GetInput()) != 2 {
		return fmt.Errorf("%w: %d inputs", ErrMalformed, len(n.GetInput()))
	}
	c := im.spec.Input[0]
	v, err := im.perChannel(n, c)
	if err != nil {
		return err
	}
	scale := true
	for _, x := range v {
		scale = scale && (op == "Div" && x == 255 || op == "Mul" && x == float32(1.0/255))
	}
	switch {
	case scale && im.stage == stageStart:
		im.stage = stageScaled
		return nil
	case op == "Sub" && im.stage < stageMean:
		im.channel(c).Mean = v
		im.stage = stageMean
	case op != "Sub" && im.stage < stageStd:
		std := im.channel(c).Std
		for i, x := range v {
			if op == "Mul" {
				x = float32(1 / float64(x))
			}
			std[i] = x
		}
		im.stage = stageStd
	default:
		return fmt.Errorf("%w: %s out of order: a leading normalisation is x/255, then −mean, then /std", ErrUnsupported, op)
	}
	return nil
}

// channel makes the preprocessing per-channel normalisation, mean 0 and
// deviation 1 until the graph says otherwise, and returns it.
func (im *importer) channel(c int) *preprocess.Params {
	if im.prep.Kind != preprocess.Channel {
		im.prep.Kind, im.prep.Mean, im.prep.Std = preprocess.Channel, make([]float32, c), make([]float32, c)
		for i := range im.prep.Std {
			im.prep.Std[i] = 1
		}
	}
	return &im.prep
}

// perChannel reads the constant second input of n as one value per
// channel: of shape [1, c, 1, 1] or [c, 1, 1], or one value for all.
func (im *importer) perChannel(n *pb.NodeProto, c int) ([]float32, error) {
	t, err := im.constant(n, 1)
	if err != nil {
		return nil, err
	}
	if t.floats == nil || len(t.shape) > 4 {
		return nil, fmt.Errorf("%w: %q is not a float32 tensor of rank 4 or less", ErrUnsupported, t.name)
	}
	v := make([]float32, c)
	switch {
	case len(t.floats) == 1:
		for i := range v {
			v[i] = t.floats[0]
		}
	case len(t.floats) == c && (len(t.shape) == 3 && t.shape[0] == c || len(t.shape) == 4 && t.shape[1] == c):
		copy(v, t.floats)
	default:
		return nil, fmt.Errorf("%w: %q has shape %v, not one value per channel (%d)", ErrUnsupported, t.name, t.shape, c)
	}
	return v, nil
}

// pad imports a Pad with zeros on the height and width. Before the net,
// it is a canvas around the image, which must sit in its centre as
// preprocess.Place puts it (PlaceCanvas); inside the net, it must pad
// every side alike, and the Conv, AveragePool or LpPool after it takes the
// padding as its own (torch.onnx writes AvgPool2d's padding so).
func (im *importer) pad(n *pb.NodeProto, a *attrs) error {
	if im.pending > 0 {
		return fmt.Errorf("%w: two Pads in a row", ErrUnsupported)
	}
	mode, err := a.str("mode", "constant")
	if err != nil {
		return err
	}
	if mode != "constant" {
		return fmt.Errorf("%w: mode %q (want constant)", ErrUnsupported, mode)
	}
	pads, err := a.ints("pads") // before opset 11
	if err != nil {
		return err
	}
	value, err := a.float("value", 0)
	if err != nil {
		return err
	}
	if im.opset >= 11 {
		t, err := im.input(n, 1)
		if err != nil {
			return err
		}
		if t == nil || t.ints == nil {
			return fmt.Errorf("%w: pads is not a constant of int64 values", ErrMalformed)
		}
		pads = t.ints
		v, err := im.vector(n, 2, 1, "constant_value", 0)
		if err != nil {
			return err
		}
		value = v[0]
		if len(n.GetInput()) > 3 {
			return fmt.Errorf("%w: axes", ErrUnsupported)
		}
	}
	if len(pads) != 8 || value != 0 {
		return fmt.Errorf("%w: pads %v with value %v (want 8 pads of a rank-4 value, and 0)", ErrUnsupported, pads, value)
	}
	for i, p := range pads {
		if i%4 < 2 && p != 0 || p < 0 || p > kernel.MaxSpatial {
			return fmt.Errorf("%w: pads %v (want zeros around the height and width: no padding of the batch or the channels, none negative)", ErrUnsupported, pads)
		}
	}
	if im.stage >= stagePlaced {
		if err := im.spatial(); err != nil {
			return err
		}
		if !allEqual([]int64{pads[2], pads[3], pads[6], pads[7]}) {
			return fmt.Errorf("%w: pads %v inside the net (want the same on every side)", ErrUnsupported, pads)
		}
		im.pending = int(pads[2])
		return nil
	}
	c, h, w := im.spec.Input[0], im.spec.Input[1], im.spec.Input[2]
	H, W := h+int(pads[2]+pads[6]), w+int(pads[3]+pads[7])
	if int(pads[2]) != (H-h)/2 || int(pads[3]) != (W-w)/2 {
		return fmt.Errorf("%w: pads %v do not centre the %d×%d image on the %d×%d canvas as allcnn does (the top and left padding rounded down)", ErrUnsupported, pads, h, w, H, W)
	}
	return im.place(preprocess.PlaceCanvas, c, h, w, H, W)
}

// place records a placement of the image at the source size h×w on the
// net's input H×W.
func (im *importer) place(how string, c, h, w, H, W int) error {
	im.stage = stagePlaced
	if h == H && w == W {
		return nil
	}
	im.prep.Place, im.prep.Size = how, [2]int{h, w}
	im.spec.Input = [3]int{c, H, W}
	return nil
}

// slice imports a leading Slice: the central window of the image
// (PlaceCrop).
func (im *importer) slice(n *pb.NodeProto, a *attrs) error {
	if im.stage >= stagePlaced {
		return fmt.Errorf("%w: Slice inside the net (only a crop of the input, before any layer)", ErrUnsupported)
	}
	starts, err := a.ints("starts") // before opset 10
	if err != nil {
		return err
	}
	ends, err := a.ints("ends")
	if err != nil {
		return err
	}
	axes, err := a.ints("axes")
	if err != nil {
		return err
	}
	var steps []int64
	if im.opset >= 10 {
		var ts [4][]int64
		for i := range ts {
			t, err := im.input(n, i+1)
			if err != nil {
				return err
			}
			if t != nil && t.ints == nil || t == nil && i < 2 {
				return fmt.Errorf("%w: input %d is not a constant of int64 values", ErrMalformed, i+1)
			}
			if t != nil {
				ts[i] = t.ints
			}
		}
		starts, ends, axes, steps = ts[0], ts[1], ts[2], ts[3]
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(starts) != len(ends) || len(axes) != len(starts) || steps != nil && len(steps) != len(starts) {
		return fmt.Errorf("%w: starts, ends, axes and steps of different lengths", ErrMalformed)
	}
	c, h, w := im.spec.Input[0], im.spec.Input[1], im.spec.Input[2]
	size := [4]int64{math.MaxInt64, int64(c), int64(h), int64(w)}
	lo, hi := [4]int64{}, size
	seen := [4]bool{}
	for i, ax := range axes {
		if ax < 0 {
			ax += 4
		}
		if ax < 0 || ax > 3 || seen[ax] {
			return fmt.Errorf("%w: axes %v", ErrMalformed, axes)
		}
		seen[ax] = true
		if steps != nil && steps[i] != 1 {
			return fmt.Errorf("%w: steps %v (want 1)", ErrUnsupported, steps)
		}
		lo[ax], hi[ax] = clampSlice(starts[i], size[ax]), clampSlice(ends[i], size[ax])
	}
	if lo[0] != 0 || hi[0] != size[0] || lo[1] != 0 || hi[1] != size[1] {
		return fmt.Errorf("%w: a Slice of the batch or the channels", ErrUnsupported)
	}
	H, W := int(hi[2]-lo[2]), int(hi[3]-lo[3])
	if H < 1 || W < 1 || int(lo[2]) != (h-H)/2 || int(lo[3]) != (w-W)/2 {
		return fmt.Errorf("%w: the Slice keeps rows [%d, %d) and columns [%d, %d) of %d×%d, not its centre as allcnn crops it", ErrUnsupported, lo[2], hi[2], lo[3], hi[3], h, w)
	}
	return im.place(preprocess.PlaceCrop, c, h, w, H, W)
}

// clampSlice is a Slice bound on an axis of n, as ONNX reads it: negative
// values count from the end, and the result is clamped to [0, n].
func clampSlice(v, n int64) int64 {
	if v < 0 && n != math.MaxInt64 {
		v = max(v+n, 0)
	}
	return min(max(v, 0), n)
}
