package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/allcnn/allcnn/kernel"
)

// Unmarshal parses and validates a weight file. The result does not alias b.
//
// Unmarshal does not use msgpack's reflection decoder, which allocates from
// length prefixes before reading the data (up to 4 GiB for one bin header,
// 10⁶ slice or map elements for one array or map header); it walks the
// structure with the decoder's low-level methods and checks every length
// against the bytes that remain first.
func Unmarshal(b []byte) (*File, error) {
	f, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return f, nil
}

func unmarshal(b []byte) (*File, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrLimit, len(b), MaxFileSize)
	}
	payload, sum, err := openEnvelope(b)
	if err != nil {
		return nil, err
	}
	if got := crc32.Checksum(payload, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: payload CRC-32C is %08x, file says %08x", ErrChecksum, got, sum)
	}
	f, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Decode reads r to its end and parses the weight file, like Unmarshal. It
// reads at most MaxFileSize+1 bytes: a longer stream is an ErrLimit error.
func Decode(r io.Reader) (*File, error) {
	f, err := decode(r, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return f, nil
}

func decode(r io.Reader, limit int64) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrLimit, limit)
	}
	return unmarshal(b)
}

// openEnvelope checks the envelope [Magic, Version, payload, crc] and
// returns the payload and the checksum the file gives for it.
func openEnvelope(b []byte) (payload []byte, sum uint32, err error) {
	r := newReader(b)
	if c, err := r.peek(); err != nil {
		return nil, 0, err
	} else if !isArray(c) {
		return nil, 0, ErrMagic
	}
	n, err := r.arrayLen(math.MaxInt32)
	if err != nil {
		return nil, 0, err
	}
	if n < 2 {
		return nil, 0, ErrMagic
	}
	magic, err := r.bytes(isStr, len(Magic))
	if errors.Is(err, ErrTruncated) {
		return nil, 0, err
	} else if err != nil || string(magic) != Magic {
		return nil, 0, ErrMagic
	}
	v, err := r.uint(math.MaxUint32)
	if errors.Is(err, ErrTruncated) {
		return nil, 0, err
	} else if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrVersion, err)
	}
	if v != Version {
		return nil, 0, fmt.Errorf("%w %d (this reader knows version %d)", ErrVersion, v, Version)
	}
	if n != 4 {
		return nil, 0, fmt.Errorf("%w: envelope of %d elements, want 4", ErrMalformed, n)
	}
	if payload, err = r.bytes(isBin, MaxFileSize); err != nil {
		return nil, 0, fmt.Errorf("payload: %w", err)
	}
	s, err := r.uint(math.MaxUint32)
	if err != nil {
		return nil, 0, fmt.Errorf("checksum: %w", err)
	}
	if r.left() != 0 {
		return nil, 0, fmt.Errorf("%w: %d bytes after the envelope", ErrTrailing, r.left())
	}
	return payload, uint32(s), nil
}

// decodePayload parses the payload map. It checks the structure and the
// limits; Validate checks the meaning.
func decodePayload(b []byte) (*File, error) {
	r := newReader(b)
	f := &File{}
	err := r.object([]string{"arch", "classes", "preprocess", "tensors", "meta"}, 5, func(key string) error {
		switch key {
		case "arch":
			return r.spec(&f.Arch)
		case "classes":
			n, err := r.arrayLen(kernel.MaxChannels)
			if err != nil {
				return err
			}
			f.Classes = make([]string, n)
			for i := range f.Classes {
				if f.Classes[i], err = r.str(MaxString); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		case "preprocess":
			return r.preprocess(f)
		case "tensors":
			n, err := r.arrayLen(MaxTensors)
			if err != nil {
				return err
			}
			f.Tensors = make([]Tensor, n)
			for i := range f.Tensors {
				t := &f.Tensors[i]
				if err := r.tensor(&t.Name, &t.Shape, &t.DType, &t.Data); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		case "meta":
			n, err := r.mapLen(MaxMeta)
			if err != nil {
				return err
			}
			f.Meta = make(map[string]string, n)
			for range n {
				k, err := r.str(MaxString)
				if err != nil {
					return err
				}
				if _, dup := f.Meta[k]; dup {
					return fmt.Errorf("%q: %w", k, ErrDuplicate)
				}
				if f.Meta[k], err = r.str(MaxString); err != nil {
					return fmt.Errorf("%q: %w", k, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the payload map", ErrTrailing, r.left())
	}
	return f, nil
}

// reader walks msgpack values in b. Every length it returns has been checked
// against the bytes that remain, so no allocation made from it can exceed a
// small multiple of len(b).
type reader struct {
	b   []byte
	br  *bytes.Reader
	dec *msgpack.Decoder // reads br directly: bytes.Reader is an io.ByteScanner, so no buffering
	// elements counts tensor elements, against MaxElements.
	elements int
}

func newReader(b []byte) *reader {
	br := bytes.NewReader(b)
	return &reader{b: b, br: br, dec: msgpack.NewDecoder(br)}
}

// left is the number of unread bytes.
func (r *reader) left() int { return r.br.Len() }

// peek returns the code of the next value.
func (r *reader) peek() (byte, error) {
	c, err := r.dec.PeekCode()
	if err != nil {
		return 0, fmt.Errorf("%w: want a value, file ends", ErrTruncated)
	}
	return c, nil
}

// expect checks that the next value's code satisfies is.
func (r *reader) expect(is func(byte) bool, what string) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if !is(c) {
		return fmt.Errorf("%w: want %s, got msgpack code 0x%02x", ErrMalformed, what, c)
	}
	return nil
}

// decErr maps an error of the msgpack decoder, after a successful peek.
func decErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends inside a value", ErrTruncated)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

func isStr(c byte) bool {
	return msgpcode.IsFixedString(c) || c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32
}
func isBin(c byte) bool { return c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32 }
func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}
func isMap(c byte) bool { return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32 }
func isInt(c byte) bool {
	return msgpcode.IsFixedNum(c) || c >= msgpcode.Uint8 && c <= msgpcode.Int64 // 0xcc…0xd3
}

// arrayLen reads an array header of at most max elements. Each element takes
// at least a byte, so more elements than bytes left is a truncated file.
func (r *reader) arrayLen(max int) (int, error) {
	if err := r.expect(isArray, "an array"); err != nil {
		return 0, err
	}
	n, err := r.dec.DecodeArrayLen()
	if err != nil {
		return 0, decErr(err)
	}
	if n < 0 || n > r.left() {
		return 0, fmt.Errorf("%w: array of %d elements in %d bytes", ErrTruncated, n, r.left())
	}
	if n > max {
		return 0, fmt.Errorf("%w: array of %d elements (at most %d)", ErrLimit, n, max)
	}
	return n, nil
}

// mapLen reads a map header of at most max entries, each at least two bytes.
func (r *reader) mapLen(max int) (int, error) {
	if err := r.expect(isMap, "a map"); err != nil {
		return 0, err
	}
	n, err := r.dec.DecodeMapLen()
	if err != nil {
		return 0, decErr(err)
	}
	if n < 0 || n > r.left()/2 {
		return 0, fmt.Errorf("%w: map of %d entries in %d bytes", ErrTruncated, n, r.left())
	}
	if n > max {
		return 0, fmt.Errorf("%w: map of %d entries (at most %d)", ErrLimit, n, max)
	}
	return n, nil
}

// bytes reads a str or bin (as is says) of at most max bytes and returns it
// without copying.
func (r *reader) bytes(is func(byte) bool, max int) ([]byte, error) {
	what := "a string"
	if is(msgpcode.Bin8) {
		what = "a bin"
	}
	if err := r.expect(is, what); err != nil {
		return nil, err
	}
	n, err := r.dec.DecodeBytesLen()
	if err != nil {
		return nil, decErr(err)
	}
	if n < 0 || n > r.left() {
		return nil, fmt.Errorf("%w: %d bytes claimed, %d left", ErrTruncated, n, r.left())
	}
	if n > max {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrLimit, n, max)
	}
	off := len(r.b) - r.left()
	if _, err := r.br.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, decErr(err)
	}
	return r.b[off : off+n : off+n], nil
}

// str reads a UTF-8 string of at most max bytes.
func (r *reader) str(max int) (string, error) {
	b, err := r.bytes(isStr, max)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrMalformed)
	}
	return string(b), nil
}

// uint reads a non-negative integer of at most max.
func (r *reader) uint(max uint64) (uint64, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	if !isInt(c) {
		return 0, fmt.Errorf("%w: want an integer, got msgpack code 0x%02x", ErrMalformed, c)
	}
	var v uint64
	if c == msgpcode.Uint64 {
		v, err = r.dec.DecodeUint64()
	} else {
		var i int64
		i, err = r.dec.DecodeInt64()
		if err == nil && i < 0 {
			return 0, fmt.Errorf("%w: negative value %d", ErrMalformed, i)
		}
		v = uint64(i)
	}
	if err != nil {
		return 0, decErr(err)
	}
	if v > max {
		return 0, fmt.Errorf("%w: value %d (at most %d)", ErrLimit, v, max)
	}
	return v, nil
}

// int reads an integer in the int32 range; kernel.Spec checks the meaning.
func (r *reader) int() (int, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Uint64 {
		v, err := r.uint(math.MaxInt32)
		return int(v), err
	}
	if !isInt(c) {
		return 0, fmt.Errorf("%w: want an integer, got msgpack code 0x%02x", ErrMalformed, c)
	}
	v, err := r.dec.DecodeInt64()
	if err != nil {
		return 0, decErr(err)
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%w: value %d outside the int32 range", ErrLimit, v)
	}
	return int(v), nil
}

func (r *reader) float32() (float32, error) {
	if err := r.expect(func(c byte) bool { return c == msgpcode.Float }, "a float32"); err != nil {
		return 0, err
	}
	v, err := r.dec.DecodeFloat32()
	if err != nil {
		return 0, decErr(err)
	}
	return v, nil
}

func (r *reader) bool() (bool, error) {
	if err := r.expect(func(c byte) bool { return c == msgpcode.True || c == msgpcode.False }, "a bool"); err != nil {
		return false, err
	}
	v, err := r.dec.DecodeBool()
	if err != nil {
		return false, decErr(err)
	}
	return v, nil
}

// float32s reads an array of at most max float32s.
func (r *reader) float32s(max int) ([]float32, error) {
	n, err := r.arrayLen(max)
	if err != nil || n == 0 {
		return nil, err
	}
	v := make([]float32, n)
	for i := range v {
		if v[i], err = r.float32(); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return v, nil
}

// object reads a map whose keys are among keys, the first required of them
// required, each at most once, calling value to read the value of each key.
func (r *reader) object(keys []string, required int, value func(key string) error) error {
	n, err := r.mapLen(64)
	if err != nil {
		return err
	}
	var seen uint64
	for range n {
		k, err := r.str(64)
		if err != nil {
			return fmt.Errorf("key: %w", err)
		}
		j := 0
		for j < len(keys) && keys[j] != k {
			j++
		}
		if j == len(keys) {
			return fmt.Errorf("%w: unknown key %q", ErrMalformed, k)
		}
		if seen&(1<<j) != 0 {
			return fmt.Errorf("key %q: %w", k, ErrDuplicate)
		}
		seen |= 1 << j
		if err := value(k); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	for j, k := range keys[:required] {
		if seen&(1<<j) == 0 {
			return fmt.Errorf("key %q: %w", k, ErrMissing)
		}
	}
	return nil
}

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
