package onnx

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// Options are what an ONNX model does not say about itself.
type Options struct {
	// Mean and Std, if set, are the input normalisation the model was
	// trained with, in torchvision's convention: pixels scaled to [0, 1],
	// then (x − Mean[c]) / Std[c] per channel. They become the weight
	// file's preprocessing (preprocess.Channel). A graph that normalises
	// its input itself (leading Div, Sub, Mul nodes, as Export writes)
	// takes none. Without either, the file's preprocessing is the graph's
	// own, or plain x/255 (preprocess.None).
	Mean, Std []float32
	// Classes names the outputs. Nil means the names the model's metadata
	// holds (Export writes them), else class0, class1, ….
	Classes []string
	// Size is the input's height and width where the graph leaves them
	// open (a named dimension). Zero means the graph must fix them.
	Size [2]int
	// Name is the architecture's name where the model's metadata does not
	// hold one (Export writes it). "" means the graph's name, else "onnx".
	Name string
}

// Import reads an ONNX model (the bytes of a ModelProto) and returns it as
// a valid weight file: a chain of the operators listed in the package
// documentation from one input of N×C×H×W float32 to one output of
// N×classes (or N×classes×1×1), with its weights. It treats b as hostile:
// every error wraps ErrMalformed, ErrUnsupported or ErrLimit, naming the
// node and its operator where one is at fault, or a sentinel of format,
// kernel or preprocess where the values do not make a valid file; and the
// memory it uses is bounded by a small multiple of len(b).
func Import(b []byte, o Options) (*format.File, error) {
	f, err := importModel(b, o)
	if err != nil {
		return nil, fmt.Errorf("onnx: import: %w", err)
	}
	return f, nil
}

func importModel(b []byte, o Options) (*format.File, error) {
	if len(b) > MaxModelSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrLimit, len(b), MaxModelSize)
	}
	m := &pb.ModelProto{}
	cost, err := parseCost(b, m.ProtoReflect().Descriptor(), 0)
	if err != nil {
		return nil, err
	}
	if cost > maxAlloc(len(b)) {
		return nil, fmt.Errorf("%w: the %d-byte file would take about %d bytes to parse (at most %d): too many small messages", ErrLimit, len(b), cost, maxAlloc(len(b)))
	}
	if err := (proto.UnmarshalOptions{RecursionLimit: MaxDepth + 1}).Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	im, err := newImporter(m, o, len(b))
	if err != nil {
		return nil, err
	}
	for _, n := range m.GetGraph().GetNode() {
		if err := im.node(n); err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", n.GetName(), n.GetOpType(), err)
		}
	}
	return im.finish(m, o)
}

// importer turns the chain of nodes into a kernel.Spec and its tensors.
type importer struct {
	opset  int64
	inits  map[string]*pb.TensorProto // initializers, decoded when read
	consts map[string]*tensor         // decoded initializers and Constant outputs
	reads  map[string]int             // how many nodes and graph outputs read each value

	spec    kernel.Spec
	tensors []format.Tensor
	prep    preprocess.Params
	userPre bool // Options gave Mean and Std

	cur     string // the value the next node must read
	flat    bool   // cur is N×C, after Flatten
	stage   stage
	softmax bool // the last node was the final Softmax
	pending int  // padding of a Pad inside the net, for the layer after it
	names   map[string]bool
	counter map[string]int
	budget  int // elements AveragePool may still add as convolution weights
}

// stage is how far the chain has come: the leading normalisation and
// placement nodes may only come first, in this order.
type stage int

const (
	stageStart  stage = iota
	stageScaled       // Div by 255: the graph takes pixel values
	stageMean         // Sub
	stageStd          // Div or Mul
	stagePlaced       // Pad or Slice
	stageLayers       // the net
)

func newImporter(m *pb.ModelProto, o Options, size int) (*importer, error) {
	im := &importer{
		inits:   map[string]*pb.TensorProto{},
		consts:  map[string]*tensor{},
		reads:   map[string]int{},
		names:   map[string]bool{InputName: true, OutputName: true}, // Export's, so that its layers keep their names
		counter: map[string]int{},
		budget:  MaxPoolWeights + size/4,
	}
	for _, op := range m.GetOpsetImport() {
		if d := op.GetDomain(); d == "" || d == "ai.onnx" {
			im.opset = op.GetVersion()
		}
	}
	if im.opset < MinOpset || im.opset > MaxOpset {
		return nil, fmt.Errorf("%w: default operator set version %d (want %d to %d)", ErrUnsupported, im.opset, MinOpset, MaxOpset)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("%w: no graph", ErrMalformed)
	}
	if len(g.GetNode()) > MaxNodes {
		return nil, fmt.Errorf("%w: %d nodes (at most %d)", ErrLimit, len(g.GetNode()), MaxNodes)
	}
	if len(g.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("%w: sparse initializers", ErrUnsupported)
	}
	for _, t := range g.GetInitializer() {
		if _, dup := im.inits[t.GetName()]; dup || t.GetName() == "" {
			return nil, fmt.Errorf("%w: initializer %q unnamed or twice", ErrMalformed, t.GetName())
		}
		im.inits[t.GetName()] = t
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			im.reads[in]++
		}
	}
	for _, out := range g.GetOutput() {
		im.reads[out.GetName()]++
	}

	var inputs []*pb.ValueInfoProto
	for _, in := range g.GetInput() {
		if _, ok := im.inits[in.GetName()]; !ok { // IR < 4 lists initializers as inputs too
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%w: %d inputs besides the initializers (want one image batch)", ErrUnsupported, len(inputs))
	}
	in, err := inputShape(inputs[0], o.Size)
	if err != nil {
		return nil, err
	}
	im.cur = inputs[0].GetName()
	im.spec.Input = in
	im.prep = preprocess.Params{Kind: preprocess.None, Place: preprocess.PlaceResize}
	if o.Mean != nil || o.Std != nil {
		im.prep = preprocess.Params{Kind: preprocess.Channel, Mean: o.Mean, Std: o.Std, Place: preprocess.PlaceResize}
		im.userPre = true
	}
	return im, nil
}

// inputShape reads the graph input's C, H, W: a float32 tensor of rank 4,
// its first dimension the batch, H and W fixed or from size.
func inputShape(v *pb.ValueInfoProto, size [2]int) ([3]int, error) {
	tt := v.GetType().GetTensorType()
	if tt == nil || tt.GetElemType() != dtFloat {
		return [3]int{}, fmt.Errorf("%w: input %q is not a float32 tensor", ErrUnsupported, v.GetName())
	}
	dims := tt.GetShape().GetDim()
	if len(dims) != 4 {
		return [3]int{}, fmt.Errorf("%w: input %q has rank %d (want 4: N×C×H×W)", ErrUnsupported, v.GetName(), len(dims))
	}
	var in [3]int
	for i, d := range dims[1:] {
		fixed, ok := d.GetValue().(*pb.TensorShapeProto_Dimension_DimValue)
		switch {
		case ok && (d.GetDimValue() < 1 || d.GetDimValue() > kernel.MaxChannels):
			return [3]int{}, fmt.Errorf("%w: input %q: dimension %d is %d", ErrUnsupported, v.GetName(), i+1, d.GetDimValue())
		case ok && i > 0 && size[i-1] != 0 && size[i-1] != int(fixed.DimValue):
			return [3]int{}, fmt.Errorf("%w: input %q is %d high and wide as fixed by the graph, not %d×%d", ErrUnsupported, v.GetName(), dims[2].GetDimValue(), size[0], size[1])
		case ok:
			in[i] = int(fixed.DimValue)
		case i > 0 && size[i-1] > 0:
			in[i] = size[i-1]
		case i == 0:
			return [3]int{}, fmt.Errorf("%w: input %q: the number of channels is not fixed", ErrUnsupported, v.GetName())
		default:
			return [3]int{}, fmt.Errorf("%w: input %q: height and width are not fixed: give the size (-size H,W)", ErrUnsupported, v.GetName())
		}
	}
	return in, nil
}

// node imports one node of the chain.
func (im *importer) node(n *pb.NodeProto) error {
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return fmt.Errorf("%w: operator of domain %q", ErrUnsupported, d)
	}
	a, err := newAttrs(n)
	if err != nil {
		return err
	}
	op := n.GetOpType()
	if op == "Constant" {
		return im.constantNode(n, a)
	}
	if op == "Identity" && len(n.GetInput()) == 1 && n.GetInput()[0] != im.cur {
		return im.alias(n, a)
	}
	if im.softmax {
		return fmt.Errorf("%w: a node after the final Softmax", ErrUnsupported)
	}
	if len(n.GetInput()) == 0 || n.GetInput()[0] != im.cur {
		return fmt.Errorf("%w: the graph is not a chain: the node reads %q, not %q, the output of the node before", ErrUnsupported, strings.Join(n.GetInput(), ", "), im.cur)
	}
	if len(n.GetOutput()) == 0 || n.GetOutput()[0] == "" {
		return fmt.Errorf("%w: no output", ErrMalformed)
	}
	for _, out := range n.GetOutput()[1:] {
		if out != "" && im.reads[out] > 0 {
			return fmt.Errorf("%w: its extra output %q is read (only the first output of a node may be)", ErrUnsupported, out)
		}
	}
	if im.reads[im.cur] > 1 {
		return fmt.Errorf("%w: the graph is not a chain: %q is read %d times", ErrUnsupported, im.cur, im.reads[im.cur])
	}
	if err := im.op(op, n, a); err != nil {
		return err
	}
	if err := a.done(); err != nil {
		return err
	}
	im.cur = n.GetOutput()[0]
	return nil
}

// op dispatches one operator.
func (im *importer) op(op string, n *pb.NodeProto, a *attrs) error {
	switch op {
	case "Div", "Sub", "Mul":
		return im.normalize(op, n)
	case "Pad":
		return im.pad(n, a)
	case "Slice":
		return im.slice(n, a)
	case "Softmax":
		return im.finalSoftmax(n, a)
	case "Identity":
		return nil
	}
	if im.pending > 0 && op != "Conv" && op != "AveragePool" && op != "LpPool" {
		return fmt.Errorf("%w: %s after a Pad (only a Conv, AveragePool or LpPool can take the padding as its own)", ErrUnsupported, op)
	}
	im.stage = stageLayers
	switch op {
	case "Conv":
		return im.conv(n, a)
	case "Gemm":
		return im.gemm(n, a)
	case "BatchNormalization":
		return im.batchNorm(n, a)
	case "Relu":
		return im.add(kernel.LayerSpec{Type: kernel.TypeReLU}, n, 1)
	case "LeakyRelu":
		alpha, err := a.float("alpha", 0.01)
		if err != nil {
			return err
		}
		return im.add(kernel.LayerSpec{Type: kernel.TypeLeakyReLU, Slope: alpha}, n, 1)
	case "Dropout":
		return im.dropout(n, a)
	case "MaxPool", "LpPool":
		return im.pool(op, n, a)
	case "AveragePool":
		return im.averagePool(n, a)
	case "GlobalAveragePool":
		if err := im.spatial(); err != nil {
			return err
		}
		return im.add(kernel.LayerSpec{Type: kernel.TypeGAP, Name: im.name(n, "gap")}, n, 1)
	case "Flatten":
		return im.flatten(n, a)
	}
	return fmt.Errorf("%w: operator %s (supported: %s)", ErrUnsupported, op, strings.Join(Supported, ", "))
}

// Supported lists the operators Import reads.
var Supported = []string{
	"AveragePool", "BatchNormalization", "Constant", "Conv", "Div", "Dropout", "Flatten", "Gemm",
	"GlobalAveragePool", "Identity", "LeakyRelu", "LpPool", "MaxPool", "Mul", "Pad", "Relu", "Slice",
	"Softmax", "Sub",
}

// shape is the per-example shape of the current value.
func (im *importer) shape() [3]int {
	if len(im.spec.Layers) == 0 {
		return im.spec.Input
	}
	sh, _ := im.spec.Shapes() // valid: add checked it
	return sh[len(sh)-1]
}

// spatial fails if the current value is N×C, after a Flatten.
func (im *importer) spatial() error {
	if im.flat {
		return fmt.Errorf("%w: the operator needs an N×C×H×W input, and it follows a Flatten", ErrUnsupported)
	}
	return nil
}

// add appends a layer and checks the architecture so far, so that every
// shape the next node sees is valid; inputs is how many inputs the
// operator reads at most.
func (im *importer) add(l kernel.LayerSpec, n *pb.NodeProto, inputs int) error {
	if len(n.GetInput()) > inputs {
		return fmt.Errorf("%w: %d inputs (want at most %d)", ErrMalformed, len(n.GetInput()), inputs)
	}
	im.spec.Layers = append(im.spec.Layers, l)
	if _, err := im.spec.Shapes(); err != nil {
		return err
	}
	return nil
}

// name is the node's name as the layer's, where it is one a layer may
// have (not empty, at most 64 bytes of UTF-8, no '/' or NUL, not taken,
// not InputName or OutputName), else prefix and the next free number.
func (im *importer) name(n *pb.NodeProto, prefix string) string {
	s := n.GetName()
	if s != "" && len(s) <= 64 && utf8.ValidString(s) && !strings.ContainsAny(s, "/\x00") && !im.names[s] {
		im.names[s] = true
		return s
	}
	for {
		im.counter[prefix]++
		s = fmt.Sprintf("%s%d", prefix, im.counter[prefix])
		if prefix == "gap" && im.counter[prefix] == 1 {
			s = prefix
		}
		if !im.names[s] {
			im.names[s] = true
			return s
		}
	}
}

// finalSoftmax accepts a Softmax over the classes as the last node: the
// net's outputs are logits, so it is dropped.
func (im *importer) finalSoftmax(n *pb.NodeProto, a *attrs) error {
	def := int64(1)
	if im.opset >= 13 {
		def = -1
	}
	axis, rank, err := im.axis(a, def)
	if err != nil {
		return err
	}
	if axis != 1 {
		return fmt.Errorf("%w: Softmax over axis %d of a rank-%d value (want the classes, axis 1)", ErrUnsupported, axis, rank)
	}
	if len(n.GetInput()) != 1 {
		return fmt.Errorf("%w: %d inputs", ErrMalformed, len(n.GetInput()))
	}
	im.stage = stageLayers
	im.softmax = true
	return nil
}

// finish checks the chain's end and makes the weight file.
func (im *importer) finish(m *pb.ModelProto, o Options) (*format.File, error) {
	outs := m.GetGraph().GetOutput()
	if len(outs) != 1 || outs[0].GetName() != im.cur {
		var names []string
		for _, out := range outs {
			names = append(names, fmt.Sprintf("%q", out.GetName()))
		}
		return nil, fmt.Errorf("%w: the graph's outputs are %s; want one, %q, the end of the chain", ErrUnsupported, strings.Join(names, ", "), im.cur)
	}
	if len(im.spec.Layers) == 0 {
		return nil, fmt.Errorf("%w: the graph has no layers", ErrUnsupported)
	}
	out := im.shape()
	if out[1] != 1 || out[2] != 1 {
		return nil, fmt.Errorf("%w: the output is %d×%d×%d per example, not one value per class (end the net with global pooling)", ErrUnsupported, out[0], out[1], out[2])
	}

	meta := map[string]string{"source": "onnx"}
	props := map[string]string{}
	for _, p := range m.GetMetadataProps() {
		props[p.GetKey()] = p.GetValue()
	}
	for _, name := range []string{props[metaArch], o.Name, m.GetGraph().GetName(), "onnx"} {
		if im.spec.Name == "" {
			im.spec.Name = name
		}
	}
	classes := o.Classes
	if classes == nil && props[metaClasses] != "" {
		classes = strings.Split(props[metaClasses], "\n")
	}
	if classes == nil {
		for i := range out[0] {
			classes = append(classes, fmt.Sprintf("class%d", i))
		}
	}
	if p := m.GetProducerName(); p != "" {
		meta["onnx.producer"] = strings.TrimSpace(p + " " + m.GetProducerVersion())
	}
	f := &format.File{Arch: im.spec, Classes: classes, Preprocess: im.prep, Tensors: im.tensors, Meta: meta}
	for i := range f.Tensors {
		f.Tensors[i].DType = format.F32
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// tensor returns the layer tensor of the given name, added last.
func (im *importer) tensor(name string) *format.Tensor {
	i := slices.IndexFunc(im.tensors, func(t format.Tensor) bool { return t.Name == name })
	return &im.tensors[i]
}
