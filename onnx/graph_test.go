package onnx

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// A small builder of ONNX models for the tests: a chain of nodes from the
// input "x" (N×3×8×8 unless changed), the last node's output the graph's.

type graph struct {
	opset  int64
	input  *pb.ValueInfoProto
	nodes  []*pb.NodeProto
	inits  []*pb.TensorProto
	output string // "" means the last node's first output
}

func newGraph() *graph {
	return &graph{opset: 13, input: valueInfo("x", "batch", 3, 8, 8)}
}

// node appends op named name, reading the previous node's output (or x)
// and the given inputs, its output named name.
func (g *graph) node(op, name string, inputs []string, at ...*pb.AttributeProto) *graph {
	prev := "x"
	if len(g.nodes) > 0 {
		prev = g.nodes[len(g.nodes)-1].Output[0]
	}
	g.nodes = append(g.nodes, &pb.NodeProto{OpType: ptr(op), Name: ptr(name),
		Input: append([]string{prev}, inputs...), Output: []string{name}, Attribute: at})
	return g
}

// init adds a float32 initializer of the given shape, every value v.
func (g *graph) init(name string, v float32, shape ...int) string {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = v
	}
	g.inits = append(g.inits, floatTensor(name, shape, data))
	return name
}

// conv appends a k×k convolution from in to out channels, padding k/2.
func (g *graph) conv(name string, in, out, k int, at ...*pb.AttributeProto) *graph {
	w, b := g.init(name+".w", 0.1, out, in, k, k), g.init(name+".b", 0.01, out)
	p := int64(k / 2)
	return g.node("Conv", name, []string{w, b}, append([]*pb.AttributeProto{intsAttr("pads", p, p, p, p)}, at...)...)
}

// head appends global average pooling: the net's output.
func (g *graph) head() *graph { return g.node("GlobalAveragePool", "gap", nil) }

func (g *graph) model() *pb.ModelProto {
	out := g.output
	if out == "" {
		out = g.nodes[len(g.nodes)-1].Output[0]
	}
	return &pb.ModelProto{
		IrVersion:   ptr(int64(irVersion)),
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(g.opset)}},
		Graph: &pb.GraphProto{Name: ptr("test"), Node: g.nodes, Initializer: g.inits,
			Input: []*pb.ValueInfoProto{g.input}, Output: []*pb.ValueInfoProto{valueInfo(out, "batch", 1)}},
	}
}

func (g *graph) bytes(t testing.TB) []byte {
	t.Helper()
	return marshal(t, g.model())
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// base is a valid net: conv, ReLU, global pooling.
func base() *graph { return newGraph().conv("c1", 3, 4, 3).node("Relu", "r1", nil).head() }
