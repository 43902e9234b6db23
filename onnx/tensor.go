package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/allcnn/allcnn/format"
	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// The element types of TensorProto.data_type that allcnn reads and writes.
const (
	dtFloat = int32(pb.TensorProto_FLOAT)
	dtInt64 = int32(pb.TensorProto_INT64)
	dtBool  = int32(pb.TensorProto_BOOL)
)

// tensor is a constant of the graph, checked and decoded: an initializer or
// the value of a Constant node.
type tensor struct {
	name   string
	shape  []int
	floats []float32 // data_type FLOAT
	ints   []int64   // data_type INT64 or BOOL (0 or 1)
}

// count is the number of elements of a shape, with a limit.
func count(shape []int64) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || d > format.MaxElements || n > format.MaxElements/max(int(d), 1) {
			return 0, fmt.Errorf("%w: shape %v (at most %d elements)", ErrLimit, shape, format.MaxElements)
		}
		n *= int(d)
	}
	return n, nil
}

// decodeTensor checks t and decodes its elements: FLOAT from raw_data
// (little-endian) or float_data, INT64 from raw_data or int64_data, BOOL
// from raw_data or int32_data. Data stored outside the file is refused.
func decodeTensor(t *pb.TensorProto) (*tensor, error) {
	if t == nil {
		// A TENSOR attribute that carries no tensor (found by FuzzImport).
		return nil, fmt.Errorf("%w: a tensor attribute without its tensor", ErrMalformed)
	}
	name := t.GetName()
	if t.GetDataLocation() != pb.TensorProto_DEFAULT || len(t.GetExternalData()) > 0 {
		return nil, fmt.Errorf("tensor %q: %w: data in an external file", name, ErrUnsupported)
	}
	if t.Segment != nil {
		return nil, fmt.Errorf("tensor %q: %w: a segment of a tensor", name, ErrUnsupported)
	}
	n, err := count(t.GetDims())
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	out := &tensor{name: name, shape: make([]int, len(t.GetDims()))}
	for i, d := range t.GetDims() {
		out.shape[i] = int(d)
	}
	raw := t.GetRawData()
	// has reports whether the data is in raw_data (of size bytes per
	// element) or in the typed field of length typed, and checks the length.
	has := func(size, typed int) (bool, error) {
		switch {
		case raw != nil && typed > 0:
			return false, fmt.Errorf("tensor %q: %w: data both raw and typed", name, ErrMalformed)
		case raw != nil && len(raw) != n*size:
			return false, fmt.Errorf("tensor %q: %w: %d raw bytes for %d elements of %d bytes", name, ErrMalformed, len(raw), n, size)
		case raw == nil && typed != n:
			return false, fmt.Errorf("tensor %q: %w: %d values for shape %v", name, ErrMalformed, typed, out.shape)
		}
		return raw != nil, nil
	}
	switch t.GetDataType() {
	case dtFloat:
		isRaw, err := has(4, len(t.GetFloatData()))
		if err != nil {
			return nil, err
		}
		if !isRaw {
			out.floats = t.GetFloatData()
			return out, nil
		}
		out.floats = make([]float32, n)
		for i := range out.floats {
			out.floats[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case dtInt64:
		isRaw, err := has(8, len(t.GetInt64Data()))
		if err != nil {
			return nil, err
		}
		if !isRaw {
			out.ints = t.GetInt64Data()
			return out, nil
		}
		out.ints = make([]int64, n)
		for i := range out.ints {
			out.ints[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case dtBool:
		isRaw, err := has(1, len(t.GetInt32Data()))
		if err != nil {
			return nil, err
		}
		out.ints = make([]int64, n)
		for i := range out.ints {
			if isRaw {
				out.ints[i] = int64(raw[i])
			} else {
				out.ints[i] = int64(t.GetInt32Data()[i])
			}
		}
	default:
		return nil, fmt.Errorf("tensor %q: %w: element type %s (want float32, int64 or bool)", name, ErrUnsupported, pb.TensorProto_DataType(t.GetDataType()))
	}
	return out, nil
}

// floatTensor makes an initializer of float32 values stored as raw data.
func floatTensor(name string, shape []int, data []float32) *pb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &pb.TensorProto{Name: &name, Dims: dims(shape), DataType: ptr(dtFloat), RawData: raw}
}

// intTensor makes an initializer of int64 values.
func intTensor(name string, data ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: &name, Dims: []int64{int64(len(data))}, DataType: ptr(dtInt64), Int64Data: data}
}

func dims(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

func ptr[T any](v T) *T { return &v }
