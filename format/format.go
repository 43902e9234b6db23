package format

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Magic is the first element of every weight file; Version is the format
// version this package writes and the only one it reads.
const (
	Magic   = "allcnn-weights"
	Version = 1
)

// Limits on what a file may hold. Marshal and Unmarshal enforce the same
// limits, so every file Marshal writes, Unmarshal reads.
const (
	MaxFileSize = 1 << 30              // bytes in a file
	MaxElements = 1 << 29              // tensor elements in a file, preprocessing included
	MaxTensors  = 2 * kernel.MaxLayers // a weight and a bias per layer
	MaxDims     = 8                    // dimensions of a tensor
	MaxString   = 1 << 16              // bytes in a name, class name, metadata key or value
	MaxMeta     = 1024                 // metadata entries
)

// Errors. Every error about the content of a file or File wraps one of them
// (or kernel.ErrSpec for an invalid architecture, preprocess.ErrParams for
// invalid preprocessing), with context: errors.Is(err, format.ErrShape).
// Errors of the reader, writer or file system are passed on, wrapped.
var (
	ErrMagic     = errors.New("not an allcnn weight file")
	ErrVersion   = errors.New("unsupported format version")
	ErrTruncated = errors.New("truncated")
	ErrTrailing  = errors.New("trailing bytes")
	ErrChecksum  = errors.New("checksum mismatch")
	ErrMalformed = errors.New("malformed") // wrong msgpack type, unknown key, invalid UTF-8
	ErrLimit     = errors.New("over a limit")
	ErrDType     = errors.New("bad dtype")
	ErrShape     = errors.New("wrong shape")
	ErrDuplicate = errors.New("duplicate")
	ErrMissing   = errors.New("missing")
	ErrExtra     = errors.New("not a parameter of the architecture")
	ErrNotFinite = errors.New("not finite") // NaN, ±Inf, or a value that overflows float16
	ErrClasses   = errors.New("class names do not match the architecture's outputs")
)

// DType is how a tensor's elements are stored in the file. In memory they are
// always float32.
type DType string

// The storage types.
const (
	F32 DType = "f32" // IEEE 754 binary32, stored exactly
	F16 DType = "f16" // IEEE 754 binary16, rounded to nearest, ties to even
)

// size is the bytes per element, 0 for an unknown dtype.
func (d DType) size() int {
	switch d {
	case F32:
		return 4
	case F16:
		return 2
	}
	return 0
}

// Tensor is one named array of parameters.
type Tensor struct {
	Name  string
	Shape []int
	DType DType     // storage type in the file
	Data  []float32 // row-major, len(Data) is the product of Shape
}

// File is the content of a weight file.
type File struct {
	Arch       kernel.Spec
	Classes    []string          // class names, len(Classes) == Arch.Classes()
	Preprocess preprocess.Params // including ZCAMean and ZCA
	// ZCADType is the storage type of Preprocess.ZCAMean and Preprocess.ZCA:
	// F32 or F16 when Preprocess.Kind is preprocess.GCNZCA, empty otherwise.
	ZCADType DType
	// Tensors are the net's parameters: exactly those Arch.ParamShapes lists,
	// in any order.
	Tensors []Tensor
	Meta    map[string]string // free-form: training recipe, accuracy, date
}

// Tensor returns the tensor with the given name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// Validate checks that f is a complete, consistent model: the architecture is
// valid, there is a class name per output, the preprocessing fits the input,
// the tensors are exactly the parameters the architecture needs with the
// right shapes, every value is finite (and fits float16 where stored so), and
// everything is within the limits. Marshal and Unmarshal call it.
func (f *File) Validate() error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	return nil
}

func (f *File) validate() error {
	if f == nil {
		return fmt.Errorf("nil File: %w", ErrMissing)
	}
	shapes, err := f.Arch.Shapes()
	if err != nil {
		return fmt.Errorf("arch: %w", err)
	}
	if err := checkString(f.Arch.Name); err != nil {
		return fmt.Errorf("arch: name: %w", err)
	}
	for i, l := range f.Arch.Layers {
		if err := checkString(l.Type); err != nil {
			return fmt.Errorf("arch: layers[%d]: type: %w", i, err)
		}
		if err := checkString(l.Name); err != nil {
			return fmt.Errorf("arch: layers[%d]: name: %w", i, err)
		}
	}

	if want := shapes[len(shapes)-1][0]; len(f.Classes) != want {
		return fmt.Errorf("%w: %d class names for %d outputs", ErrClasses, len(f.Classes), want)
	}
	for i, c := range f.Classes {
		if err := checkString(c); err != nil {
			return fmt.Errorf("classes[%d]: %w", i, err)
		}
	}

	elements, err := f.validatePreprocess()
	if err != nil {
		return err
	}

	params, err := f.Arch.ParamShapes()
	if err != nil {
		return fmt.Errorf("arch: %w", err)
	}
	want := make(map[string][]int, len(params))
	for _, p := range params {
		want[p.Name] = p.Shape
	}
	seen := make(map[string]bool, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if err := checkString(t.Name); err != nil {
			return fmt.Errorf("tensors[%d]: name: %w", i, err)
		}
		if seen[t.Name] {
			return fmt.Errorf("tensor %q: %w", t.Name, ErrDuplicate)
		}
		seen[t.Name] = true
		shape, ok := want[t.Name]
		if !ok {
			return fmt.Errorf("tensor %q: %w", t.Name, ErrExtra)
		}
		if t.DType.size() == 0 {
			return fmt.Errorf("tensor %q: %w %q", t.Name, ErrDType, t.DType)
		}
		if !slices.Equal(t.Shape, shape) {
			return fmt.Errorf("tensor %q: %w: %v, want %v", t.Name, ErrShape, t.Shape, shape)
		}
		n, ok := elementCount(shape)
		if !ok {
			return fmt.Errorf("tensor %q: %w: shape %v has more than %d elements", t.Name, ErrLimit, shape, MaxElements)
		}
		if len(t.Data) != n {
			return fmt.Errorf("tensor %q: %w: %d elements for shape %v", t.Name, ErrShape, len(t.Data), shape)
		}
		if err := checkValues(t.Data, t.DType); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		elements += n
		if elements > MaxElements {
			return fmt.Errorf("%w: more than %d tensor elements", ErrLimit, MaxElements)
		}
	}
	for _, p := range params {
		if !seen[p.Name] {
			return fmt.Errorf("tensor %q: %w", p.Name, ErrMissing)
		}
	}

	if len(f.Meta) > MaxMeta {
		return fmt.Errorf("meta: %w: %d entries (at most %d)", ErrLimit, len(f.Meta), MaxMeta)
	}
	for k, v := range f.Meta {
		if err := checkString(k); err != nil {
			return fmt.Errorf("meta key: %w", err)
		}
		if err := checkString(v); err != nil {
			return fmt.Errorf("meta %q: %w", k, err)
		}
	}
	return nil
}

// validatePreprocess checks f.Preprocess and f.ZCADType and returns the
// number of tensor elements the preprocessing stores.
func (f *File) validatePreprocess() (elements int, err error) {
	p := &f.Preprocess
	if err := checkString(p.Kind); err != nil {
		return 0, fmt.Errorf("preprocess: kind: %w", err)
	}
	if err := checkString(p.Place); err != nil {
		return 0, fmt.Errorf("preprocess: place: %w", err)
	}
	in := f.Arch.Input
	if err := p.Validate(in[0], in[1], in[2]); err != nil {
		return 0, err
	}
	// Fields the kind does not use must be empty, so that a file says one
	// thing only.
	channel, zca := p.Kind == preprocess.Channel, p.Kind == preprocess.GCNZCA
	if !channel && (len(p.Mean) > 0 || len(p.Std) > 0) {
		return 0, fmt.Errorf("%w: mean or std set for kind %q", preprocess.ErrParams, p.Kind)
	}
	if !zca && (math.Float32bits(p.GCNScale) != 0 || len(p.ZCAMean) > 0 || len(p.ZCA) > 0) {
		return 0, fmt.Errorf("%w: GCN or ZCA set for kind %q", preprocess.ErrParams, p.Kind)
	}
	if !zca {
		if f.ZCADType != "" {
			return 0, fmt.Errorf("preprocess: ZCA dtype %q without ZCA: %w", f.ZCADType, ErrDType)
		}
		if err := checkValues(p.Mean, F32); err != nil {
			return 0, fmt.Errorf("preprocess: mean: %w", err)
		}
		if err := checkValues(p.Std, F32); err != nil {
			return 0, fmt.Errorf("preprocess: std: %w", err)
		}
		return 0, nil
	}
	if f.ZCADType.size() == 0 {
		return 0, fmt.Errorf("preprocess: ZCA: %w %q", ErrDType, f.ZCADType)
	}
	if err := checkValues([]float32{p.GCNScale}, F32); err != nil {
		return 0, fmt.Errorf("preprocess: gcn_scale: %w", err)
	}
	if len(p.ZCA) > MaxElements {
		return 0, fmt.Errorf("preprocess: ZCA: %w: %d elements", ErrLimit, len(p.ZCA))
	}
	if err := checkValues(p.ZCAMean, f.ZCADType); err != nil {
		return 0, fmt.Errorf("preprocess: zca_mean: %w", err)
	}
	if err := checkValues(p.ZCA, f.ZCADType); err != nil {
		return 0, fmt.Errorf("preprocess: zca: %w", err)
	}
	return len(p.ZCAMean) + len(p.ZCA), nil
}

// elementCount is the product of shape, false if a dimension is negative
// or the product is over MaxElements.
func elementCount(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || d > 0 && n > MaxElements/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// checkString checks a string the file stores: valid UTF-8 (msgpack's str
// type requires it, and JavaScript decoders would replace invalid bytes) and
// at most MaxString bytes.
func checkString(s string) error {
	if len(s) > MaxString {
		return fmt.Errorf("%w: %d-byte string (at most %d)", ErrLimit, len(s), MaxString)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: invalid UTF-8", ErrMalformed)
	}
	return nil
}

// checkValues reports the first value of v that is NaN or infinite or,
// for F16, rounds to infinity.
func checkValues(v []float32, d DType) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("element %d: %v: %w", i, x, ErrNotFinite)
		}
		if d == F16 {
			if _, ok := f32ToF16(x); !ok {
				return fmt.Errorf("element %d: %v overflows f16: %w", i, x, ErrNotFinite)
			}
		}
	}
	return nil
}
