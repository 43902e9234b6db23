package format

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// testSpec is a small net that uses every field of kernel.LayerSpec:
// 3×8×8 → conv1 4×8×8 → leaky → maxpool 4×5×5 → dropout → conv2 2×5×5 → gap.
func testSpec() kernel.Spec {
	return kernel.Spec{Name: "tiny", Input: [3]int{3, 8, 8}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeConv, Name: "conv1", Out: 4, Kernel: 3, Pad: 1},
		{Type: kernel.TypeLeakyReLU, Slope: 0.1},
		{Type: kernel.TypeMaxPool, Name: "pool1", Kernel: 3, Stride: 2, Pad: 1, Ceil: true},
		{Type: kernel.TypeDropout, P: 0.5},
		{Type: kernel.TypeConv, Name: "conv2", Out: 2, Kernel: 1},
		{Type: kernel.TypeReLU},
		{Type: kernel.TypeGAP},
	}}
}

// paramTensors fills the parameters of s with values exactly representable
// in float16 (multiples of 1/16 in [-0.5, 0.5]), stored as d.
func paramTensors(t testing.TB, s *kernel.Spec, d DType) []Tensor {
	t.Helper()
	ps, err := s.ParamShapes()
	if err != nil {
		t.Fatal(err)
	}
	var ts []Tensor
	for j, p := range ps {
		n := 1
		for _, x := range p.Shape {
			n *= x
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32((i+j)%17-8) / 16
		}
		ts = append(ts, Tensor{Name: p.Name, Shape: slices.Clone(p.Shape), DType: d, Data: data})
	}
	return ts
}

// testFile is a valid File with per-channel normalization, tensors stored as d.
func testFile(t testing.TB, d DType) *File {
	s := testSpec()
	return &File{
		Arch:       s,
		Classes:    []string{"cat", "dög"},
		Preprocess: preprocess.Params{Kind: preprocess.Channel, Mean: []float32{0.49, 0.48, 0.45}, Std: []float32{0.25, 0.24, 0.26}},
		Tensors:    paramTensors(t, &s, d),
		Meta:       map[string]string{"recipe": "sgd lr=0.01", "accuracy": "0.5", "date": "2026-01-01"},
	}
}

// zcaFile is a valid File with GCN + ZCA on a 1×4×4 input (D = 16), the ZCA
// stored as d.
func zcaFile(t testing.TB, d DType) *File {
	s := kernel.Spec{Name: "zca", Input: [3]int{1, 4, 4}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeConv, Name: "conv1", Out: 2, Kernel: 3, Pad: 1},
		{Type: kernel.TypeGAP},
	}}
	mean := make([]float32, 16)
	zca := make([]float32, 16*16)
	for i := range mean {
		mean[i] = float32(i-8) / 64
		for j := range 16 {
			zca[i*16+j] = float32((i*j)%9-4) / 8
		}
	}
	return &File{
		Arch:       s,
		Classes:    []string{"a", "b"},
		Preprocess: preprocess.Params{Kind: preprocess.GCNZCA, GCNScale: 55, ZCAMean: mean, ZCA: zca},
		ZCADType:   d,
		Tensors:    paramTensors(t, &s, F32),
		Meta:       map[string]string{},
	}
}

// mustMarshal marshals a File that must be valid.
func mustMarshal(t testing.TB, f *File) []byte {
	t.Helper()
	b, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seal wraps a payload in a valid envelope.
func seal(payload []byte) []byte {
	var buf bytes.Buffer
	if err := writeEnvelope(&buf, payload); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// diffFile describes the first difference between a and b, comparing floats
// bit for bit; "" if none.
func diffFile(a, b *File) string {
	if !reflect.DeepEqual(a.Arch, b.Arch) {
		return fmt.Sprintf("arch: %+v != %+v", a.Arch, b.Arch)
	}
	for i, la := range a.Arch.Layers { // DeepEqual takes −0 for +0
		lb := b.Arch.Layers[i]
		if !sameBits([]float32{la.Slope, la.P}, []float32{lb.Slope, lb.P}) {
			return fmt.Sprintf("arch: layer %d: slope %v, p %v != %v, %v", i, la.Slope, la.P, lb.Slope, lb.P)
		}
	}
	if !slices.Equal(a.Classes, b.Classes) {
		return fmt.Sprintf("classes: %q != %q", a.Classes, b.Classes)
	}
	pa, pb := a.Preprocess, b.Preprocess
	if pa.Kind != pb.Kind || pa.Place != pb.Place || pa.Size != pb.Size || !sameBits([]float32{pa.GCNScale}, []float32{pb.GCNScale}) {
		return fmt.Sprintf("preprocess: %+v != %+v", pa, pb)
	}
	for _, v := range [][2][]float32{{pa.Mean, pb.Mean}, {pa.Std, pb.Std}, {pa.ZCAMean, pb.ZCAMean}, {pa.ZCA, pb.ZCA}} {
		if !sameBits(v[0], v[1]) {
			return fmt.Sprintf("preprocess arrays differ: %v != %v", v[0], v[1])
		}
	}
	if a.ZCADType != b.ZCADType {
		return fmt.Sprintf("ZCA dtype %q != %q", a.ZCADType, b.ZCADType)
	}
	if len(a.Tensors) != len(b.Tensors) {
		return fmt.Sprintf("%d tensors != %d", len(a.Tensors), len(b.Tensors))
	}
	for i, ta := range a.Tensors {
		tb := b.Tensors[i]
		if ta.Name != tb.Name || ta.DType != tb.DType || !slices.Equal(ta.Shape, tb.Shape) || !sameBits(ta.Data, tb.Data) {
			return fmt.Sprintf("tensor %d: %q %v %s != %q %v %s, or data differs", i, ta.Name, ta.Shape, ta.DType, tb.Name, tb.Shape, tb.DType)
		}
	}
	if !reflect.DeepEqual(a.Meta, b.Meta) {
		return fmt.Sprintf("meta: %q != %q", a.Meta, b.Meta)
	}
	return ""
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
