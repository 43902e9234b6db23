package onnx

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// hostileModels are inputs built to make a parser allocate much more than
// their size: many tiny messages, empty strings, one-byte varints.
func hostileModels(size int) map[string][]byte {
	graph := func(field protowire.Number, item []byte) []byte {
		var g []byte
		for len(g) < size {
			g = protowire.AppendTag(g, field, protowire.BytesType)
			g = protowire.AppendBytes(g, item)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), g)
	}
	node := func(name string) []byte { // NodeProto{name: name}
		return protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), name)
	}
	varints := protowire.AppendTag(nil, 7, protowire.BytesType) // TensorProto.int64_data, packed
	varints = protowire.AppendBytes(varints, []byte(strings.Repeat("\x01", size)))
	strs := make([]byte, 0, size) // NodeProto.input: "" again and again
	for len(strs) < size {
		strs = protowire.AppendString(protowire.AppendTag(strs, 1, protowire.BytesType), "")
	}
	return map[string][]byte{
		"empty nodes":     graph(1, nil),
		"named nodes":     graph(1, node(strings.Repeat("n", 40))),
		"tiny nodes":      graph(1, node("n")),
		"empty inputs":    graph(1, strs),
		"varints":         graph(5, varints),
		"empty attribute": graph(1, protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), nil)),
	}
}

// Importing a hostile file allocates in proportion to its size, whatever
// it holds.
func TestImportBoundedMemory(t *testing.T) {
	var ms runtime.MemStats
	for name, b := range hostileModels(1 << 20) {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, err := Import(b, Options{})
		runtime.ReadMemStats(&ms)
		got, limit := ms.TotalAlloc-before, uint64(4*len(b)+2<<20)
		t.Logf("%-16s %8d bytes: allocated %9d (%v)", name, len(b), got, err)
		if err == nil || !knownErr(err) {
			t.Errorf("%s: %v", name, err)
		}
		if got > limit {
			t.Errorf("%s: %d-byte input allocated %d bytes (limit %d)", name, len(b), got, limit)
		}
	}
}

// parseCost is at least what proto.Unmarshal allocates, for hostile
// inputs small enough to be parsed and for real models.
func TestParseCostBound(t *testing.T) {
	inputs := hostileModels(64 << 10)
	for _, name := range []string{"batchnorm", "maxpool", "leaky"} {
		b, err := os.ReadFile("testdata/" + name + ".onnx")
		if err != nil {
			t.Fatal(err)
		}
		inputs[name+".onnx"] = b
	}
	for _, b := range inputs { // the first parse of a message type sets up its tables
		proto.Unmarshal(b, &pb.ModelProto{})
	}
	var ms runtime.MemStats
	for name, b := range inputs {
		m := &pb.ModelProto{}
		cost, err := parseCost(b, m.ProtoReflect().Descriptor(), 0)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		got := ms.TotalAlloc - before
		t.Logf("%-16s %6d bytes: parse allocated %8d, bound %8d", name, len(b), got, cost)
		if int64(got) > cost {
			t.Errorf("%s: parsing allocated %d bytes, more than the bound %d", name, got, cost)
		}
	}
}
