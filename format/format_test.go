package format

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *File
	}{
		{"f32", testFile(t, F32)},
		{"f16", testFile(t, F16)},
		{"zca f32", zcaFile(t, F32)},
		{"zca f16", zcaFile(t, F16)},
		{"no preprocessing, empty meta", func() *File {
			f := testFile(t, F32)
			f.Preprocess = preprocess.Params{Kind: preprocess.None}
			f.Meta = map[string]string{}
			return f
		}()},
		{"placed on a canvas", func() *File {
			f := testFile(t, F32)
			f.Preprocess.Place, f.Preprocess.Size = preprocess.PlaceCanvas, [2]int{5, 6}
			return f
		}()},
		{"cropped", func() *File {
			f := testFile(t, F16)
			f.Preprocess.Place, f.Preprocess.Size = preprocess.PlaceCrop, [2]int{300, 9}
			return f
		}()},
		{"resized", func() *File {
			f := testFile(t, F32)
			f.Preprocess.Place = preprocess.PlaceResize
			return f
		}()},
		{"mixed dtypes, extreme values", func() *File {
			f := testFile(t, F32)
			f.Tensors[1].DType = F16 // conv1.bias, [4]: largest, smallest subnormal, −0, smallest normal
			f.Tensors[1].Data = []float32{-65504, 0x1p-24, float32(math.Copysign(0, -1)), 0x1p-14}
			f.Tensors[0].Data[0] = math.MaxFloat32
			f.Tensors[0].Data[1] = math.SmallestNonzeroFloat32
			f.Tensors[0].Data[2] = float32(math.Copysign(0, -1))
			return f
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, tc.f)
			g, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffFile(tc.f, g); d != "" {
				t.Fatal(d)
			}
			if b2 := mustMarshal(t, g); !bytes.Equal(b, b2) {
				t.Fatal("re-marshaling a decoded file gives different bytes")
			}
		})
	}
}

// f16 storage rounds to nearest even; decoding gives the rounded values.
func TestRoundTripF16Rounds(t *testing.T) {
	f := zcaFile(t, F16)
	f.Preprocess.ZCA[0] = 1 + 0x1p-11   // halfway between 1 and 1+2⁻¹⁰: to 1
	f.Preprocess.ZCA[1] = 1 + 3*0x1p-11 // halfway between 1+2⁻¹⁰ and 1+2⁻⁹: to 1+2⁻⁹
	f.Preprocess.ZCA[2] = 0x1p-25       // half the smallest subnormal: to 0
	f.Preprocess.ZCA[3] = 65519         // below the overflow threshold: to 65504
	f.Preprocess.ZCA[4] = 0.1
	g, err := Unmarshal(mustMarshal(t, f))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 1 + 0x1p-9, 0, 65504, 0.0999755859375}
	for i, w := range want {
		if got := g.Preprocess.ZCA[i]; got != w {
			t.Errorf("ZCA[%d] = %v, want %v", i, got, w)
		}
	}
}

func TestMarshalDeterministic(t *testing.T) {
	f := testFile(t, F16)
	for i := range 50 {
		f.Meta[strings.Repeat("k", i+1)] = "v"
	}
	a, b := mustMarshal(t, f), mustMarshal(t, f)
	if !bytes.Equal(a, b) {
		t.Fatal("two Marshal calls differ")
	}
}

func TestTensor(t *testing.T) {
	f := testFile(t, F32)
	w, ok := f.Tensor("conv2.weight")
	if !ok || w.Name != "conv2.weight" || len(w.Shape) != 4 || w.Shape[0] != 2 || w.Shape[1] != 4 {
		t.Fatalf("Tensor(conv2.weight) = %+v, %v", w, ok)
	}
	w.Data[0] = 42 // a pointer into the File
	if f.Tensors[2].Data[0] != 42 {
		t.Fatal("Tensor does not point into f.Tensors")
	}
	if _, ok := f.Tensor("conv3.weight"); ok {
		t.Fatal("found a tensor that is not there")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(f *File)
		want   error
	}{
		{"valid", func(f *File) {}, nil},
		{"invalid arch", func(f *File) { f.Arch.Layers[0].Kernel = 0 }, kernel.ErrSpec},
		{"no layers", func(f *File) { f.Arch.Layers = nil }, kernel.ErrSpec},
		{"arch name not UTF-8", func(f *File) { f.Arch.Name = "\xff" }, ErrMalformed},
		{"arch name too long", func(f *File) { f.Arch.Name = strings.Repeat("x", MaxString+1) }, ErrLimit},
		{"too few classes", func(f *File) { f.Classes = f.Classes[:1] }, ErrClasses},
		{"too many classes", func(f *File) { f.Classes = append(f.Classes, "bird") }, ErrClasses},
		{"class not UTF-8", func(f *File) { f.Classes[1] = "d\xc3g" }, ErrMalformed},
		{"bad std", func(f *File) { f.Preprocess.Std[0] = -1 }, preprocess.ErrParams},
		{"infinite mean", func(f *File) { f.Preprocess.Mean[0] = float32(math.Inf(1)) }, ErrNotFinite},
		{"mean for kind none", func(f *File) { f.Preprocess.Kind = preprocess.None }, preprocess.ErrParams},
		{"ZCA for kind channel", func(f *File) { f.Preprocess.ZCA = []float32{1} }, preprocess.ErrParams},
		{"ZCA dtype without ZCA", func(f *File) { f.ZCADType = F32 }, ErrDType},
		{"unknown kind", func(f *File) { f.Preprocess.Kind = "pca" }, preprocess.ErrParams},
		{"missing tensor", func(f *File) { f.Tensors = f.Tensors[1:] }, ErrMissing},
		{"extra tensor", func(f *File) {
			f.Tensors = append(f.Tensors, Tensor{Name: "conv3.weight", Shape: []int{1}, DType: F32, Data: []float32{0}})
		}, ErrExtra},
		{"duplicate tensor", func(f *File) { f.Tensors = append(f.Tensors, f.Tensors[0]) }, ErrDuplicate},
		{"tensor name not UTF-8", func(f *File) { f.Tensors[0].Name = "\x80" }, ErrMalformed},
		{"no dtype", func(f *File) { f.Tensors[0].DType = "" }, ErrDType},
		{"unknown dtype", func(f *File) { f.Tensors[0].DType = "bf16" }, ErrDType},
		{"wrong rank", func(f *File) { f.Tensors[0].Shape = []int{4, 3, 9} }, ErrShape},
		{"wrong dimension", func(f *File) { f.Tensors[0].Shape[1] = 2 }, ErrShape},
		{"short data", func(f *File) { f.Tensors[1].Data = f.Tensors[1].Data[:3] }, ErrShape},
		{"long data", func(f *File) { f.Tensors[1].Data = append(f.Tensors[1].Data, 0) }, ErrShape},
		{"NaN", func(f *File) { f.Tensors[2].Data[5] = float32(math.NaN()) }, ErrNotFinite},
		{"-Inf", func(f *File) { f.Tensors[3].Data[1] = float32(math.Inf(-1)) }, ErrNotFinite},
		{"f16 overflow", func(f *File) { f.Tensors[0].DType = F16; f.Tensors[0].Data[0] = 65520 }, ErrNotFinite},
		{"f16 largest", func(f *File) { f.Tensors[0].DType = F16; f.Tensors[0].Data[0] = 65519.99 }, nil},
		{"f32 huge is fine", func(f *File) { f.Tensors[0].Data[0] = 1e38 }, nil},
		{"too much meta", func(f *File) {
			for i := range MaxMeta + 1 {
				f.Meta[strings.Repeat("m", i+1)] = ""
			}
		}, ErrLimit},
		{"meta value too long", func(f *File) { f.Meta["recipe"] = strings.Repeat("x", MaxString+1) }, ErrLimit},
		{"meta key not UTF-8", func(f *File) { f.Meta["\xfe"] = "" }, ErrMalformed},
		{"nil meta is fine", func(f *File) { f.Meta = nil }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFile(t, F32)
			tc.mutate(f)
			err := f.Validate()
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
			// Marshal validates: it must fail, and write nothing, exactly when Validate does.
			var buf bytes.Buffer
			if err := Encode(&buf, f); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Encode() = %v, want %v", err, tc.want)
			}
			if tc.want != nil && buf.Len() != 0 {
				t.Fatalf("Encode wrote %d bytes of an invalid file", buf.Len())
			}
		})
	}
}

func TestValidateZCA(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(f *File)
		want   error
	}{
		{"valid", func(f *File) {}, nil},
		{"no ZCA dtype", func(f *File) { f.ZCADType = "" }, ErrDType},
		{"short ZCA", func(f *File) { f.Preprocess.ZCA = f.Preprocess.ZCA[1:] }, preprocess.ErrParams},
		{"no ZCA mean", func(f *File) { f.Preprocess.ZCAMean = nil }, preprocess.ErrParams},
		{"infinite GCN scale", func(f *File) { f.Preprocess.GCNScale = float32(math.Inf(1)) }, ErrNotFinite},
		{"NaN in ZCA", func(f *File) { f.Preprocess.ZCA[7] = float32(math.NaN()) }, ErrNotFinite},
		{"f16 ZCA overflow", func(f *File) { f.Preprocess.ZCAMean[3] = -1e5 }, ErrNotFinite},
		{"channel stats with ZCA", func(f *File) { f.Preprocess.Mean = []float32{0} }, preprocess.ErrParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := zcaFile(t, F16)
			tc.mutate(f)
			if err := f.Validate(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	var f *File
	if err := f.Validate(); !errors.Is(err, ErrMissing) {
		t.Fatalf("nil File: %v", err)
	}
}

// −0 in an optional float field survives the round trip, as it does through
// msgpack's omitempty.
func TestNegativeZeroFields(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	f := testFile(t, F32)
	f.Arch.Layers[1].Slope = negZero
	f.Arch.Layers[3].P = negZero
	g, err := Unmarshal(mustMarshal(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if !math.Signbit(float64(g.Arch.Layers[1].Slope)) || !math.Signbit(float64(g.Arch.Layers[3].P)) {
		t.Fatal("−0 read back as +0")
	}
	f = testFile(t, F32)
	f.Preprocess.GCNScale = negZero
	if err := f.Validate(); !errors.Is(err, preprocess.ErrParams) {
		t.Fatalf("GCN scale −0 for channel normalization: %v", err)
	}
}

// The input contract is checked on load: an unknown placement, a size that
// does not fit it, a malformed size. A file without it (older than the
// field) loads, with Place "".
func TestPlacement(t *testing.T) {
	f := testFile(t, F32)
	g, err := Unmarshal(mustMarshal(t, f))
	if err != nil || g.Preprocess.Place != "" || g.Preprocess.Size != [2]int{} {
		t.Fatalf("a file without a placement: %v, %q %v", err, g.Preprocess.Place, g.Preprocess.Size)
	}
	for _, c := range []struct {
		place string
		size  [2]int
		want  string
	}{
		{"stretch", [2]int{}, `unknown placement "stretch"`},
		{preprocess.PlaceCanvas, [2]int{9, 8}, "does not fit"},
		{preprocess.PlaceCrop, [2]int{7, 8}, "smaller than"},
		{preprocess.PlaceResize, [2]int{4, 4}, "resampled to the input"},
	} {
		f := testFile(t, F32)
		f.Preprocess.Place, f.Preprocess.Size = c.place, c.size
		if _, err := Marshal(f); !errors.Is(err, preprocess.ErrParams) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: Marshal: %v, want %q", c.place, c.size, err, c.want)
		}
	}

	// A size of three numbers, written by hand: the payload of a valid
	// canvas file with its "size" array grown.
	f.Preprocess.Place, f.Preprocess.Size = preprocess.PlaceCanvas, [2]int{5, 6}
	payload := encodePayload(f)
	old := []byte("\xa4size\x92\x05\x06")
	i := bytes.Index(payload, old)
	if i < 0 {
		t.Fatal("no size array in the payload")
	}
	bad := append(append(append([]byte{}, payload[:i]...), "\xa4size\x93\x05\x06\x07"...), payload[i+len(old):]...)
	if _, err := Unmarshal(seal(bad)); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "size") {
		t.Errorf("three-number size: %v", err)
	}
}
