package format

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/allcnn/allcnn/kernel"
)

// The keys of kernel.Spec, kernel.LayerSpec and preprocess.Params: their
// msgpack tags, then the ZCA tensors. Required keys come first.
var (
	specKeys       = []string{"name", "input", "layers"}
	layerKeys      = []string{"type", "name", "out", "kernel", "stride", "pad", "ceil", "slope", "p", "eps", "momentum"}
	preprocessKeys = []string{"kind", "mean", "std", "gcn_scale", "zca_mean", "zca", "place", "size"}
)

// spec reads a kernel.Spec: keys as its msgpack tags, those tagged omitempty
// optional.
func (r *reader) spec(s *kernel.Spec) error {
	return r.object(specKeys, 3, func(key string) error {
		var err error
		switch key {
		case "name":
			s.Name, err = r.str(MaxString)
		case "input":
			var n int
			if n, err = r.arrayLen(3); err == nil && n != 3 {
				err = fmt.Errorf("%w: %d dimensions, want 3", ErrMalformed, n)
			}
			for i := 0; i < 3 && err == nil; i++ {
				s.Input[i], err = r.int()
			}
		case "layers":
			var n int
			if n, err = r.arrayLen(kernel.MaxLayers); err != nil {
				return err
			}
			s.Layers = make([]kernel.LayerSpec, n)
			for i := range s.Layers {
				if err := r.layer(&s.Layers[i]); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		}
		return err
	})
}

func (r *reader) layer(l *kernel.LayerSpec) error {
	return r.object(layerKeys, 1, func(key string) error {
		var err error
		switch key {
		case "type":
			l.Type, err = r.str(MaxString)
		case "name":
			l.Name, err = r.str(MaxString)
		case "out":
			l.Out, err = r.int()
		case "kernel":
			l.Kernel, err = r.int()
		case "stride":
			l.Stride, err = r.int()
		case "pad":
			l.Pad, err = r.int()
		case "ceil":
			l.Ceil, err = r.bool()
		case "slope":
			l.Slope, err = r.float32()
		case "p":
			l.P, err = r.float32()
		case "eps":
			l.Eps, err = r.float32()
		case "momentum":
			l.Momentum, err = r.float32()
		}
		return err
	})
}

func (r *reader) preprocess(f *File) error {
	p := &f.Preprocess
	var zcaMean DType
	err := r.object(preprocessKeys, 1, func(key string) error {
		var err error
		var shape []int
		switch key {
		case "kind":
			p.Kind, err = r.str(MaxString)
		case "mean":
			p.Mean, err = r.float32s(kernel.MaxChannels)
		case "std":
			p.Std, err = r.float32s(kernel.MaxChannels)
		case "gcn_scale":
			p.GCNScale, err = r.float32()
		case "zca_mean":
			if err = r.tensor(nil, &shape, &zcaMean, &p.ZCAMean); err == nil && len(shape) != 1 {
				err = fmt.Errorf("%w: %v, want [D]", ErrShape, shape)
			}
		case "zca":
			if err = r.tensor(nil, &shape, &f.ZCADType, &p.ZCA); err == nil && (len(shape) != 2 || shape[0] != shape[1]) {
				err = fmt.Errorf("%w: %v, want [D, D]", ErrShape, shape)
			}
		case "place":
			p.Place, err = r.str(MaxString)
		case "size":
			var n int
			if n, err = r.arrayLen(2); err == nil && n != 2 {
				err = fmt.Errorf("%w: %d elements, want height and width", ErrShape, n)
			}
			for i := 0; err == nil && i < 2; i++ {
				p.Size[i], err = r.int()
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if f.ZCADType == "" {
		f.ZCADType = zcaMean
	} else if zcaMean != "" && zcaMean != f.ZCADType {
		return fmt.Errorf("zca_mean: %w: %s, but zca is %s", ErrDType, zcaMean, f.ZCADType)
	}
	return nil
}

// tensor reads a tensor map into its arguments; name nil means the map has
// no name. The blob's size must be the shape's element count times the
// dtype's size, and every value finite.
func (r *reader) tensor(name *string, shape *[]int, dtype *DType, data *[]float32) error {
	keys := []string{"name", "shape", "dtype", "data"}
	if name == nil {
		keys = keys[1:]
	}
	var blob []byte
	err := r.object(keys, len(keys), func(key string) error {
		var err error
		switch key {
		case "name":
			*name, err = r.str(MaxString)
		case "shape":
			var n int
			if n, err = r.arrayLen(MaxDims); err != nil {
				return err
			}
			*shape = make([]int, n)
			for i := range *shape {
				var d uint64
				if d, err = r.uint(MaxElements); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
				(*shape)[i] = int(d)
			}
		case "dtype":
			var s string
			if s, err = r.str(16); err == nil {
				*dtype = DType(s)
				if dtype.size() == 0 {
					err = fmt.Errorf("%w %q", ErrDType, s)
				}
			}
		case "data":
			blob, err = r.bytes(isBin, MaxFileSize)
		}
		return err
	})
	where := "tensor"
	if name != nil && *name != "" {
		where = fmt.Sprintf("tensor %q", *name)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	n, ok := elementCount(*shape)
	if !ok || r.elements+n > MaxElements {
		return fmt.Errorf("%s: %w: more than %d elements", where, ErrLimit, MaxElements)
	}
	r.elements += n
	size := dtype.size()
	if len(blob)%size != 0 || len(blob)/size != n {
		return fmt.Errorf("%s: %w: shape %v of %s is %d elements, data holds %d bytes", where, ErrShape, *shape, *dtype, n, len(blob))
	}
	if n == 0 {
		return nil
	}
	v := make([]float32, n)
	for i := range v {
		var x float32
		ok := true
		if size == 4 {
			x = math.Float32frombits(binary.LittleEndian.Uint32(blob[4*i:]))
			ok = !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
		} else {
			x, ok = f16ToF32(binary.LittleEndian.Uint16(blob[2*i:]))
		}
		if !ok {
			return fmt.Errorf("%s: element %d: %w", where, i, ErrNotFinite)
		}
		v[i] = x
	}
	*data = v
	return nil
}
