package onnx

import (
	"fmt"
	"reflect"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// Parsing a protocol buffer allocates more than its size where it holds
// many small things: an empty NodeProto costs 2 bytes of input and a Go
// struct of some hundred bytes. Before Import hands a file to
// proto.Unmarshal, parseCost walks its wire format once, guided by the
// schema (the generated descriptors, not a decoder of ONNX of our own),
// and sums a bound on what the parse will allocate; a file whose bound is
// over maxAlloc is refused. Nothing is allocated on the walk.

// maxAlloc is the most the parse of an n-byte file may allocate: twice its
// size and 1 MiB. Real models hold their weights as raw bytes and cost
// about their size.
func maxAlloc(n int) int64 { return 2*int64(n) + 1<<20 }

// Costs in bytes. An element of a repeated field costs five times its
// size: append grows a long slice by a quarter, so the arrays it leaves
// behind add up to four times the last one. Packed scalars are counted
// first and allocated once.
const (
	costPointer = 5 * 8  // an element of a repeated message field
	costHeader  = 5 * 24 // a string or []byte header
	costScalar  = 5 * 8  // an element of a repeated scalar field, not packed
	costMessage = 64     // protobuf-go's bookkeeping beyond the struct
)

// structSize is the size of the Go struct of each ONNX message.
var structSize = map[protoreflect.FullName]int64{}

func init() {
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if mt.Descriptor().ParentFile().Path() == pb.File_onnx_proto.Path() {
			structSize[mt.Descriptor().FullName()] = int64(reflect.TypeOf(mt.Zero().Interface()).Elem().Size())
		}
		return true
	})
}

// parseCost bounds what proto.Unmarshal allocates for b, a message of type
// md at nesting depth.
func parseCost(b []byte, md protoreflect.MessageDescriptor, depth int) (int64, error) {
	if depth > MaxDepth {
		return 0, fmt.Errorf("%w: messages nested deeper than %d", ErrLimit, MaxDepth)
	}
	cost := structSize[md.FullName()] + costMessage
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("%w: %v", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0, fmt.Errorf("%w: %v", ErrMalformed, protowire.ParseError(m))
		}
		value := b[:m]
		b = b[m:]
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			cost += int64(n + m) // kept as unknown bytes
			continue
		}
		switch k := fd.Kind(); {
		case k == protoreflect.MessageKind && typ == protowire.BytesType:
			v, _ := protowire.ConsumeBytes(value)
			c, err := parseCost(v, fd.Message(), depth+1)
			if err != nil {
				return 0, err
			}
			cost += c + costPointer
		case k == protoreflect.StringKind || k == protoreflect.BytesKind:
			cost += int64(m) + costHeader
		case fd.IsList() && typ == protowire.BytesType: // packed scalars
			v, _ := protowire.ConsumeBytes(value)
			cost += packedCost(v, k)
		case fd.IsList():
			cost += costScalar
		}
	}
	return cost, nil
}

// packedCost is what a packed run of scalars of kind k becomes: 8 bytes an
// element at most, twice for growth.
func packedCost(v []byte, k protoreflect.Kind) int64 {
	switch k {
	case protoreflect.FloatKind, protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return 2 * int64(len(v))
	case protoreflect.DoubleKind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return 2 * int64(len(v))
	}
	var elems int64 // varints: one ends at each byte below 0x80
	for _, c := range v {
		if c < 0x80 {
			elems++
		}
	}
	return 2 * 8 * elems
}
