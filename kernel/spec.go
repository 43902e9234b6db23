package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Layer types of a Spec. Every architecture of the paper is a list of these.
const (
	TypeConv      = "conv"       // 2-D convolution with bias
	TypeReLU      = "relu"       // max(x, 0)
	TypeLeakyReLU = "leaky_relu" // x > 0 ? x : Slope·x
	TypeDropout   = "dropout"    // zero with probability P while training
	TypeMaxPool   = "maxpool"    // max over Kernel×Kernel windows, records switches
	TypeGAP       = "gap"        // global average pooling to 1×1
	// TypePNorm is p-norm subsampling over Kernel×Kernel windows, the
	// paper's Eq. 1, with exponent P (PNorm).
	TypePNorm = "pnorm"
	// TypeBatchNorm is batch normalisation per channel (BatchNorm): a
	// training aid that FoldBatchNorm merges into the convolution before it.
	TypeBatchNorm = "batchnorm"
)

// Spec describes a network as data: the input shape and the layers in order.
// It is what a weight file stores, so that a file alone rebuilds the net, and
// what users write as JSON for their own all-convolutional nets.
type Spec struct {
	Name   string      `json:"name" msgpack:"name"`
	Input  [3]int      `json:"input" msgpack:"input"` // channels, height, width
	Layers []LayerSpec `json:"layers" msgpack:"layers"`
}

// LayerSpec is one layer of a Spec. Fields that do not apply to a type are zero.
type LayerSpec struct {
	Type string `json:"type" msgpack:"type"`
	// Name identifies the layer (conv1, conv2, …) for weights and visualization
	// targets. Activations and dropout may leave it empty.
	Name   string `json:"name,omitempty" msgpack:"name,omitempty"`
	Out    int    `json:"out,omitempty" msgpack:"out,omitempty"`       // conv: output channels
	Kernel int    `json:"kernel,omitempty" msgpack:"kernel,omitempty"` // conv, maxpool, pnorm: square kernel size
	Stride int    `json:"stride,omitempty" msgpack:"stride,omitempty"` // conv, maxpool, pnorm: 0 means 1
	Pad    int    `json:"pad,omitempty" msgpack:"pad,omitempty"`       // conv, maxpool, pnorm: zero padding on every side
	// Ceil selects ceiling rounding of a pool's output size (Caffe):
	// maxpool and pnorm.
	Ceil  bool    `json:"ceil,omitempty" msgpack:"ceil,omitempty"`
	Slope float32 `json:"slope,omitempty" msgpack:"slope,omitempty"` // leaky_relu: slope for x < 0
	// P is a dropout's drop probability, in [0, 1), and a pnorm's exponent
	// p, finite and at least 1.
	P float32 `json:"p,omitempty" msgpack:"p,omitempty"`
	// Eps and Momentum are a batchnorm's ε (added to the variance) and the
	// weight of each batch in its running statistics; 0 means the defaults,
	// DefaultBNEps and DefaultBNMomentum.
	Eps      float32 `json:"eps,omitempty" msgpack:"eps,omitempty"`
	Momentum float32 `json:"momentum,omitempty" msgpack:"momentum,omitempty"`
}

// ErrSpec is wrapped by every error that reports an invalid Spec.
var ErrSpec = errors.New("invalid architecture")

// Limits on what a Spec may ask for, so that a hostile weight file or JSON
// cannot make the builder allocate without bound.
const (
	MaxLayers   = 1024
	MaxChannels = 1 << 16
	MaxKernel   = 64
	MaxSpatial  = 4096
)

func (l LayerSpec) stride() int {
	if l.Stride == 0 {
		return 1
	}
	return l.Stride
}

// ConvOut is the output size of a convolution along one axis.
func ConvOut(in, k, stride, pad int) int { return (in+2*pad-k)/stride + 1 }

// PoolOut is the output size of a max-pool along one axis. With ceil, the
// last window may hang over the padded edge, as in Caffe, but must start
// inside the input or left padding (PyTorch's rule).
func PoolOut(in, k, stride, pad int, ceil bool) int {
	num := in + 2*pad - k
	if !ceil {
		return num/stride + 1
	}
	out := (num+stride-1)/stride + 1
	if (out-1)*stride >= in+pad {
		out--
	}
	return out
}

// Shapes checks the spec and returns the per-example output shape
// [channels, height, width] of every layer.
func (s *Spec) Shapes() ([][3]int, error) {
	c, h, w := s.Input[0], s.Input[1], s.Input[2]
	if c < 1 || h < 1 || w < 1 || c > MaxChannels || h > MaxSpatial || w > MaxSpatial {
		return nil, fmt.Errorf("%w: input shape %v", ErrSpec, s.Input)
	}
	if len(s.Layers) == 0 || len(s.Layers) > MaxLayers {
		return nil, fmt.Errorf("%w: %d layers (want 1 to %d)", ErrSpec, len(s.Layers), MaxLayers)
	}
	names := map[string]bool{}
	out := make([][3]int, len(s.Layers))
	for i, l := range s.Layers {
		where := fmt.Sprintf("layer %d (%s %q)", i, l.Type, l.Name)
		if l.Name != "" {
			if names[l.Name] {
				return nil, fmt.Errorf("%w: %s: duplicate name", ErrSpec, where)
			}
			names[l.Name] = true
			if strings.ContainsAny(l.Name, "/\x00") {
				return nil, fmt.Errorf("%w: %s: name may not hold '/' or NUL", ErrSpec, where)
			}
		}
		if l.Stride < 0 || l.Pad < 0 || l.Kernel < 0 || l.Out < 0 {
			return nil, fmt.Errorf("%w: %s: negative size", ErrSpec, where)
		}
		switch l.Type {
		case TypeConv, TypeMaxPool, TypePNorm:
			k, st := l.Kernel, l.stride()
			if k < 1 || k > MaxKernel || st > MaxKernel || l.Pad >= k {
				return nil, fmt.Errorf("%w: %s: kernel %d, stride %d, pad %d", ErrSpec, where, k, st, l.Pad)
			}
			if h+2*l.Pad < k || w+2*l.Pad < k {
				return nil, fmt.Errorf("%w: %s: %d×%d input is smaller than the %d×%d kernel", ErrSpec, where, h, w, k, k)
			}
			if l.Type == TypeConv {
				if l.Name == "" {
					return nil, fmt.Errorf("%w: %s: a conv layer needs a name", ErrSpec, where)
				}
				if l.Out < 1 || l.Out > MaxChannels {
					return nil, fmt.Errorf("%w: %s: %d output channels", ErrSpec, where, l.Out)
				}
				if l.Ceil {
					return nil, fmt.Errorf("%w: %s: ceil applies to pools only", ErrSpec, where)
				}
				c, h, w = l.Out, ConvOut(h, k, st, l.Pad), ConvOut(w, k, st, l.Pad)
			} else {
				if l.Type == TypePNorm && !(l.P >= 1 && l.P <= math.MaxFloat32) {
					return nil, fmt.Errorf("%w: %s: exponent p = %v, want a finite p ≥ 1", ErrSpec, where, l.P)
				}
				h, w = PoolOut(h, k, st, l.Pad, l.Ceil), PoolOut(w, k, st, l.Pad, l.Ceil)
			}
		case TypeReLU:
		case TypeLeakyReLU:
			if !(l.Slope >= 0 && l.Slope < 1) {
				return nil, fmt.Errorf("%w: %s: slope %v outside [0, 1)", ErrSpec, where, l.Slope)
			}
		case TypeDropout:
			if !(l.P >= 0 && l.P < 1) {
				return nil, fmt.Errorf("%w: %s: probability %v outside [0, 1)", ErrSpec, where, l.P)
			}
		case TypeGAP:
			h, w = 1, 1
		case TypeBatchNorm:
			if l.Name == "" {
				return nil, fmt.Errorf("%w: %s: a batchnorm layer needs a name", ErrSpec, where)
			}
			if !(l.Eps >= 0 && l.Eps < 1) || !(l.Momentum >= 0 && l.Momentum <= 1) {
				return nil, fmt.Errorf("%w: %s: eps %v outside [0, 1) or momentum %v outside [0, 1]", ErrSpec, where, l.Eps, l.Momentum)
			}
		default:
			return nil, fmt.Errorf("%w: %s: unknown layer type", ErrSpec, where)
		}
		out[i] = [3]int{c, h, w}
	}
	return out, nil
}

// Classes is the number of output channels of the spec's last layer.
func (s *Spec) Classes() int {
	sh, err := s.Shapes()
	if err != nil {
		return 0
	}
	return sh[len(sh)-1][0]
}

// ParseSpec reads a JSON architecture, rejecting unknown fields.
func ParseSpec(r io.Reader) (*Spec, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	if _, err := s.Shapes(); err != nil {
		return nil, err
	}
	return &s, nil
}

// ParamInfo names one tensor of a net.
type ParamInfo struct {
	Name  string
	Shape []int
	// Buffer marks state that is saved but not learned: a batchnorm's
	// running statistics.
	Buffer bool
}

// ParamShapes lists the tensors a spec implies, in layer order, as a weight
// file holds them: for each conv layer NAME, "NAME.weight" [out, in, k, k]
// and "NAME.bias" [out]; for each batchnorm NAME over c channels,
// "NAME.weight" and "NAME.bias" (γ, β) and the buffers "NAME.running_mean"
// and "NAME.running_var", each [c].
func (s *Spec) ParamShapes() ([]ParamInfo, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return nil, err
	}
	var ps []ParamInfo
	in := s.Input[0]
	for i, l := range s.Layers {
		switch {
		case l.Type == TypeConv:
			ps = append(ps,
				ParamInfo{Name: l.Name + ".weight", Shape: []int{l.Out, in, l.Kernel, l.Kernel}},
				ParamInfo{Name: l.Name + ".bias", Shape: []int{l.Out}})
		case l.Type == TypeBatchNorm:
			ps = append(ps,
				ParamInfo{Name: l.Name + ".weight", Shape: []int{in}},
				ParamInfo{Name: l.Name + ".bias", Shape: []int{in}},
				ParamInfo{Name: l.Name + ".running_mean", Shape: []int{in}, Buffer: true},
				ParamInfo{Name: l.Name + ".running_var", Shape: []int{in}, Buffer: true})
		}
		in = shapes[i][0]
	}
	return ps, nil
}
