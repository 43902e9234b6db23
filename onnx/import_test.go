package onnx

import (
	"errors"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// knownErr reports whether err wraps a sentinel of this package or of
// those whose checks Import runs.
func knownErr(err error) bool {
	for _, s := range []error{ErrMalformed, ErrUnsupported, ErrLimit, kernel.ErrSpec, preprocess.ErrParams,
		format.ErrLimit, format.ErrNotFinite, format.ErrClasses, format.ErrMalformed, format.ErrShape} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestImportBase(t *testing.T) {
	f, err := Import(base().bytes(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.Arch.Layers); got != 3 || f.Arch.Input != [3]int{3, 8, 8} || len(f.Classes) != 4 || f.Classes[3] != "class3" {
		t.Fatalf("arch %+v, classes %q", f.Arch, f.Classes)
	}
	if f.Preprocess.Kind != preprocess.None || f.Meta["source"] != "onnx" {
		t.Fatalf("preprocessing %+v, meta %v", f.Preprocess, f.Meta)
	}
}

// Every model outside what Import reads fails with an error that wraps
// the right sentinel and says what is wrong, and where.
func TestImportErrors(t *testing.T) {
	nested := &pb.GraphProto{}
	for range MaxDepth {
		nested = &pb.GraphProto{Node: []*pb.NodeProto{{Attribute: []*pb.AttributeProto{{Name: ptr("g"), G: nested}}}}}
	}
	deep := base().model()
	deep.Graph.Node[1].Attribute = nested.Node[0].Attribute
	many := make([]byte, 0, 1<<20)
	for len(many) < cap(many)-8 {
		many = append(many, 0x3a, 0x02, 0x0a, 0x00) // graph { node {} }, repeated
	}
	ext := base().model()
	ext.Graph.Initializer[0].DataLocation = pb.TensorProto_EXTERNAL.Enum()
	short := base().model()
	short.Graph.Initializer[0].RawData = short.Graph.Initializer[0].RawData[4:]
	nan := base()
	nan.inits[1] = floatTensor("c1.b", []int{4}, []float32{0, float32(nanValue()), 0, 0})
	twoIn := base().model()
	twoIn.Graph.Input = append(twoIn.Graph.Input, valueInfo("y", "batch", 3))
	open := base()
	open.input = valueInfo("x", "batch", 3, 8)
	open.input.Type.GetTensorType().Shape.Dim = append(open.input.Type.GetTensorType().Shape.Dim,
		&pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "w"}})
	branch := base()
	branch.nodes = append(branch.nodes, &pb.NodeProto{OpType: ptr("Relu"), Name: ptr("r2"), Input: []string{"c1"}, Output: []string{"r2"}})
	branch.output = "gap"
	domain := base()
	domain.nodes[1].Domain = ptr("com.microsoft")
	indices := newGraph().conv("c1", 3, 4, 3)
	indices.node("MaxPool", "p1", nil, intsAttr("kernel_shape", 2, 2))
	indices.nodes[1].Output = append(indices.nodes[1].Output, "idx")
	indices.head().nodes[2].Input = append(indices.nodes[2].Input, "idx")
	wide := newGraph()
	wide.input = valueInfo("x", "batch", 2048, 8, 8)
	wide.node("AveragePool", "a1", nil, intsAttr("kernel_shape", 3, 3)).head()

	for _, tc := range []struct {
		name string
		in   []byte
		o    Options
		want error
		says string
	}{
		{"not protobuf", []byte("\xff\xff\xff\xff not a model"), Options{}, ErrMalformed, "malformed"},
		{"no opset", nil, Options{}, ErrUnsupported, "operator set version 0"},
		{"opset 99", func() []byte { g := base(); g.opset = 99; return g.bytes(t) }(), Options{}, ErrUnsupported, "version 99"},
		{"unknown op", newGraph().conv("c1", 3, 4, 3).node("Add", "add1", []string{"c1.b"}).head().bytes(t), Options{}, ErrUnsupported, `node "add1" (Add): not supported: operator Add`},
		{"domain", domain.bytes(t), Options{}, ErrUnsupported, `domain "com.microsoft"`},
		{"branch", branch.bytes(t), Options{}, ErrUnsupported, "not a chain"},
		{"group", newGraph().conv("c1", 3, 4, 3, intAttr("group", 3)).head().bytes(t), Options{}, ErrUnsupported, `node "c1" (Conv): not supported: group 3`},
		{"dilation", newGraph().conv("c1", 3, 4, 3, intsAttr("dilations", 2, 2)).head().bytes(t), Options{}, ErrUnsupported, `node "c1" (Conv): not supported: dilations [2 2]`},
		{"uneven pads", func() []byte {
			g := newGraph()
			g.node("Conv", "c1", []string{g.init("w", 0.1, 4, 3, 3, 3)}, intsAttr("pads", 1, 1, 0, 0))
			return g.head().bytes(t)
		}(), Options{}, ErrUnsupported, "pads [1 1 0 0]"},
		{"non-square", func() []byte {
			g := newGraph()
			return g.node("Conv", "c1", []string{g.init("w", 0.1, 4, 3, 3, 1)}).head().bytes(t)
		}(), Options{}, ErrUnsupported, "3×1 kernel"},
		{"unknown attribute", newGraph().conv("c1", 3, 4, 3).node("Relu", "r1", nil, intAttr("foo", 1)).head().bytes(t), Options{}, ErrUnsupported, `node "r1" (Relu): not supported: attribute foo`},
		{"batchnorm after relu", func() []byte {
			g := newGraph().conv("c1", 3, 4, 3).node("Relu", "r1", nil)
			return g.node("BatchNormalization", "bn", []string{g.init("s", 1, 4), g.init("b", 0, 4), g.init("m", 0, 4), g.init("v", 1, 4)}).head().bytes(t)
		}(), Options{}, ErrUnsupported, "only right after a Conv"},
		{"softmax inside", newGraph().conv("c1", 3, 4, 3).node("Softmax", "s", nil, intAttr("axis", 1)).head().bytes(t), Options{}, ErrUnsupported, "after the final Softmax"},
		{"softmax axis", base().node("Softmax", "s", nil).bytes(t), Options{}, ErrUnsupported, "axis 3"},
		{"gemm without flatten", func() []byte {
			g := base()
			return g.node("Gemm", "fc", []string{g.init("fw", 1, 4, 2)}).bytes(t)
		}(), Options{}, ErrUnsupported, "Gemm only after Flatten"},
		{"flatten of a map", newGraph().conv("c1", 3, 4, 3).node("Flatten", "fl", nil).bytes(t), Options{}, ErrUnsupported, "8×8 map"},
		{"not 1×1", newGraph().conv("c1", 3, 4, 3).bytes(t), Options{}, ErrUnsupported, "4×8×8 per example"},
		{"wrong output", func() []byte { g := base(); g.output = "y"; return g.bytes(t) }(), Options{}, ErrUnsupported, `outputs are "y"; want one, "gap"`},
		{"external data", marshal(t, ext), Options{}, ErrUnsupported, "external file"},
		{"short raw data", marshal(t, short), Options{}, ErrMalformed, "raw bytes"},
		{"NaN", nan.bytes(t), Options{}, format.ErrNotFinite, "c1.bias"},
		{"two inputs", marshal(t, twoIn), Options{}, ErrUnsupported, "2 inputs"},
		{"open size", open.bytes(t), Options{}, ErrUnsupported, "-size H,W"},
		{"leaky slope", newGraph().conv("c1", 3, 4, 3).node("LeakyRelu", "l", nil, floatAttr("alpha", 2)).head().bytes(t), Options{}, kernel.ErrSpec, "slope 2"},
		{"average excluding pads", newGraph().node("AveragePool", "a1", nil, intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1)).head().bytes(t), Options{}, ErrUnsupported, "count_include_pad 0"},
		{"average too wide", wide.bytes(t), Options{}, ErrLimit, "2048 channels"},
		{"read indices", indices.bytes(t), Options{}, ErrUnsupported, `extra output "idx"`},
		{"mean twice", func() []byte {
			g := newGraph()
			g.node("Sub", "sub", []string{g.init("m", 0.5, 1, 3, 1, 1)})
			return g.conv("c1", 3, 4, 3).head().bytes(t)
		}(), Options{Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{1, 1, 1}}, ErrUnsupported, "normalises its input itself"},
		{"sub inside", func() []byte {
			g := newGraph().conv("c1", 3, 4, 3)
			return g.node("Sub", "sub", []string{g.init("m", 0.5)}).head().bytes(t)
		}(), Options{}, ErrUnsupported, "Sub inside the net"},
		{"pad attribute", newGraph().conv("c1", 3, 4, 3).node("Pad", "pad", nil, intsAttr("pads", 0, 0, 1, 1, 0, 0, 1, 1)).head().bytes(t), Options{}, ErrMalformed, "pads is not a constant"},
		{"pad before maxpool", func() []byte {
			g := newGraph().conv("c1", 3, 4, 3)
			g.inits = append(g.inits, intTensor("pads", 0, 0, 1, 1, 0, 0, 1, 1))
			return g.node("Pad", "pad", []string{"pads"}).node("MaxPool", "mp", nil, intsAttr("kernel_shape", 3, 3)).head().bytes(t)
		}(), Options{}, ErrUnsupported, `node "mp" (MaxPool): not supported: MaxPool after a Pad`},
		{"classes", base().bytes(t), Options{Classes: []string{"a"}}, format.ErrClasses, "1 class names for 4 outputs"},
		{"deep", marshal(t, deep), Options{}, ErrLimit, "nested deeper"},
		{"many nodes", many, Options{}, ErrLimit, "too many small messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Import(tc.in, tc.o)
			if err == nil {
				t.Fatalf("imported %+v", f.Arch)
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "onnx: import: ") {
				t.Errorf("error %q, want %v and %q", err, tc.want, tc.says)
			}
		})
	}
}
