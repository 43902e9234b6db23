package onnx

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// Export returns the model of a weight file as an ONNX model (opset 13,
// the bytes of a ModelProto): the graph takes InputName, N×C×H×W float32
// pixel values in [0, 255] of images already resampled to the file's
// source size (preprocess.Params.SourceSize), normalises and places them
// as the file says (leading Div, Sub, Div, and Pad or Slice nodes), runs
// the net in evaluation mode and gives OutputName, N×classes softmax
// probabilities. The batch dimension is dynamic. See the package
// documentation for each layer's operator; a file with GCN and ZCA
// whitening, a p-norm pool whose exponent is not a whole number, or an
// output larger than 1×1 is refused with ErrExport.
func Export(f *format.File) ([]byte, error) {
	m, err := exportModel(f)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return b, nil
}

// exporter builds the graph node by node; cur is the value the next node
// reads.
type exporter struct {
	f     *format.File
	g     *pb.GraphProto
	cur   string
	names map[string]bool
}

func exportModel(f *format.File) (*pb.ModelProto, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: export: %w", err)
	}
	shapes, _ := f.Arch.Shapes() // valid: Validate checked it
	if out := shapes[len(shapes)-1]; out[1] != 1 || out[2] != 1 {
		return nil, fmt.Errorf("onnx: export: %w: the net's output is %d×%d×%d, not one value per class", ErrExport, out[0], out[1], out[2])
	}
	p := f.Preprocess
	in := f.Arch.Input
	sh, sw := p.SourceSize(in)
	e := &exporter{f: f, g: &pb.GraphProto{Name: ptr(f.Arch.Name)}, cur: InputName,
		names: map[string]bool{InputName: true, OutputName: true}}
	for _, l := range f.Arch.Layers { // a layer's node has the layer's name
		if l.Name != InputName && l.Name != OutputName {
			e.names[l.Name] = true
		}
	}
	e.g.Input = []*pb.ValueInfoProto{valueInfo(InputName, "batch", in[0], sh, sw)}
	if err := e.preprocess(p, in, sh, sw); err != nil {
		return nil, err
	}
	for i, l := range f.Arch.Layers {
		if err := e.layer(i, l); err != nil {
			return nil, fmt.Errorf("onnx: export: layer %d (%s %q): %w", i, l.Type, l.Name, err)
		}
	}
	e.node("Flatten", e.unique("logits"), nil, intAttr("axis", 1))
	e.node("Softmax", OutputName, nil, intAttr("axis", 1))
	classes := shapes[len(shapes)-1][0]
	e.g.Output = []*pb.ValueInfoProto{valueInfo(OutputName, "batch", classes)}

	return &pb.ModelProto{
		IrVersion:       ptr(int64(irVersion)),
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(int64(Opset))}},
		ProducerName:    ptr("allcnn"),
		ProducerVersion: ptr(fmt.Sprint(format.Version)),
		DocString:       ptr(docString(f, sh, sw)),
		Graph:           e.g,
		MetadataProps: []*pb.StringStringEntryProto{
			{Key: ptr(metaArch), Value: ptr(f.Arch.Name)},
			{Key: ptr(metaClasses), Value: ptr(strings.Join(f.Classes, "\n"))},
		},
	}, nil
}

// docString states the input contract in the model, for whoever opens it.
func docString(f *format.File, sh, sw int) string {
	in := f.Arch.Input
	return fmt.Sprintf("%s, exported by allcnn. Input %q: N×%d×%d×%d float32 pixel values in [0, 255], "+
		"the image resampled to %d×%d as allcnn does (area averaging when shrinking, bilinear when enlarging); "+
		"the graph applies the model's preprocessing (%s) and placement (%s). Output %q: N×%d softmax probabilities.",
		f.Arch.Name, InputName, in[0], sh, sw, sh, sw, kindName(f.Preprocess.Kind), placeName(f.Preprocess.Place), OutputName, len(f.Classes))
}

func kindName(k string) string {
	if k == "" {
		return preprocess.None
	}
	return k
}

func placeName(p string) string {
	if p == "" {
		return preprocess.PlaceResize
	}
	return p
}

// preprocess writes the leading nodes: x/255, then (x − mean)/std per
// channel, then the canvas (Pad) or the crop (Slice). They compute what
// preprocess.Params.Apply and Place compute, in the same order, so that
// the zero padding of a canvas and of the first convolution stays zero in
// normalised values (folding the normalisation into conv1's weights would
// not: its padding would then stand for a black pixel, not the mean).
func (e *exporter) preprocess(p preprocess.Params, in [3]int, sh, sw int) error {
	switch p.Kind {
	case preprocess.None, "":
		e.node("Div", e.unique("scale"), []string{e.constant("scale.divisor", []int{}, []float32{255})})
	case preprocess.Channel:
		c := len(p.Mean)
		e.node("Div", e.unique("scale"), []string{e.constant("scale.divisor", []int{}, []float32{255})})
		e.node("Sub", e.unique("normalize.sub"), []string{e.constant("normalize.mean", []int{1, c, 1, 1}, p.Mean)})
		e.node("Div", e.unique("normalize"), []string{e.constant("normalize.std", []int{1, c, 1, 1}, p.Std)})
	default:
		return fmt.Errorf("onnx: export: %w: preprocessing %q (global contrast normalisation and a %d×%d ZCA matrix: the graph would hold the whole whitening matrix; export a model trained with per-channel normalisation)",
			ErrExport, p.Kind, in[0]*in[1]*in[2], in[0]*in[1]*in[2])
	}
	H, W := in[1], in[2]
	switch {
	case sh < H: // a canvas: the image in the centre, as preprocess.Place puts it
		y0, x0 := (H-sh)/2, (W-sw)/2
		pads := e.intConstant("canvas.pads", 0, 0, int64(y0), int64(x0), 0, 0, int64(H-sh-y0), int64(W-sw-x0))
		e.node("Pad", e.unique("canvas"), []string{pads}, strAttr("mode", "constant"))
	case sh > H: // a crop: the central window
		y0, x0 := int64((sh-H)/2), int64((sw-W)/2)
		e.node("Slice", e.unique("crop"), []string{
			e.intConstant("crop.starts", y0, x0),
			e.intConstant("crop.ends", y0+int64(H), x0+int64(W)),
			e.intConstant("crop.axes", 2, 3),
		})
	}
	return nil
}

// layer writes the nodes of one layer of the architecture.
func (e *exporter) layer(i int, l kernel.LayerSpec) error {
	name := l.Name
	if name == "" || name == InputName || name == OutputName {
		name = e.unique(fmt.Sprintf("%s%d", cmp.Or(name, l.Type), i))
	}
	stride := int64(max(l.Stride, 1))
	window := func(ceil bool) []*pb.AttributeProto {
		k, p := int64(l.Kernel), int64(l.Pad)
		at := []*pb.AttributeProto{intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride), intsAttr("pads", p, p, p, p)}
		if ceil {
			at = append(at, intAttr("ceil_mode", 1))
		}
		return at
	}
	switch l.Type {
	case kernel.TypeConv:
		w, b := e.param(l.Name+".weight"), e.param(l.Name+".bias")
		e.node("Conv", name, []string{w, b}, window(false)...)
	case kernel.TypeReLU:
		e.node("Relu", name, nil)
	case kernel.TypeLeakyReLU:
		e.node("LeakyRelu", name, nil, floatAttr("alpha", l.Slope))
	case kernel.TypeDropout:
		e.node("Dropout", name, []string{e.constant(name+".ratio", []int{}, []float32{l.P})})
	case kernel.TypeMaxPool:
		e.node("MaxPool", name, nil, window(l.Ceil)...)
	case kernel.TypePNorm:
		if l.P != float32(math.Round(float64(l.P))) || l.Ceil {
			return fmt.Errorf("%w: opset %d's LpPool takes a whole exponent and no ceil_mode (p %v, ceil %v)", ErrExport, Opset, l.P, l.Ceil)
		}
		e.node("LpPool", name, nil, append(window(false), intAttr("p", int64(l.P)))...)
	case kernel.TypeGAP:
		e.node("GlobalAveragePool", name, nil)
	case kernel.TypeBatchNorm:
		eps := l.Eps
		if eps == 0 {
			eps = kernel.DefaultBNEps
		}
		in := []string{e.param(l.Name + ".weight"), e.param(l.Name + ".bias"), e.param(l.Name + ".running_mean"), e.param(l.Name + ".running_var")}
		e.node("BatchNormalization", name, in, floatAttr("epsilon", eps))
	default:
		return fmt.Errorf("%w: layer type %q", ErrExport, l.Type)
	}
	return nil
}

// node appends a node of op that reads the current value and the given
// constants, and makes its output, named name, the current value. A
// layer's node has the layer's name; others a name no other value has.
func (e *exporter) node(op, name string, constants []string, at ...*pb.AttributeProto) {
	e.g.Node = append(e.g.Node, &pb.NodeProto{
		OpType: ptr(op), Name: ptr(name), Input: append([]string{e.cur}, constants...),
		Output: []string{name}, Attribute: at,
	})
	e.cur = name
}

// unique returns name, or name_1, name_2, … if a value has the name.
func (e *exporter) unique(name string) string {
	u := name
	for i := 1; e.names[u]; i++ {
		u = fmt.Sprintf("%s_%d", name, i)
	}
	e.names[u] = true
	return u
}

// param adds the file's tensor name as an initializer.
func (e *exporter) param(name string) string {
	t, _ := e.f.Tensor(name) // present: Validate checked it
	return e.constant(name, t.Shape, t.Data)
}

// constant adds an initializer of float32 values.
func (e *exporter) constant(name string, shape []int, data []float32) string {
	name = e.unique(name)
	e.g.Initializer = append(e.g.Initializer, floatTensor(name, shape, data))
	return name
}

// intConstant adds an initializer of int64 values, a vector.
func (e *exporter) intConstant(name string, data ...int64) string {
	name = e.unique(name)
	e.g.Initializer = append(e.g.Initializer, intTensor(name, data...))
	return name
}

// valueInfo describes a float32 tensor whose first dimension is named
// batch and whose others are fixed.
func valueInfo(name, batch string, sizes ...int) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{
		{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: batch}}}}
	for _, s := range sizes {
		shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(s)}})
	}
	return &pb.ValueInfoProto{Name: ptr(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: ptr(dtFloat), Shape: shape}}}}
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: ptr(name), Type: pb.AttributeProto_INT.Enum(), I: ptr(v)}
}

func intsAttr(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: ptr(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

func floatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: ptr(name), Type: pb.AttributeProto_FLOAT.Enum(), F: ptr(v)}
}

func strAttr(name, v string) *pb.AttributeProto {
	return &pb.AttributeProto{Name: ptr(name), Type: pb.AttributeProto_STRING.Enum(), S: []byte(v)}
}
