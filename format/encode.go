package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/allcnn/allcnn/kernel/preprocess"
)

// castagnoli is the CRC-32C table. The checksum guards against accidental
// corruption only: anyone can recompute it for a forged file.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Marshal validates f and returns its weight file. The same File always
// gives the same bytes.
func Marshal(f *File) ([]byte, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode validates f and writes its weight file to w. Nothing is written if
// f is invalid.
func Encode(w io.Writer, f *File) error {
	if err := encode(w, f); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	return nil
}

func encode(w io.Writer, f *File) error {
	if err := f.validate(); err != nil {
		return err
	}
	return writeEnvelope(w, encodePayload(f))
}

// writeEnvelope writes [Magic, Version, payload, CRC-32C(payload)].
func writeEnvelope(w io.Writer, payload []byte) error {
	if len(payload) > MaxFileSize-64 {
		return fmt.Errorf("%w: %d-byte payload (a file holds at most %d bytes)", ErrLimit, len(payload), MaxFileSize)
	}
	var head, tail bytes.Buffer
	e := encoder{enc: msgpack.NewEncoder(&head)}
	e.arrayLen(4)
	e.str(Magic)
	e.uint(Version)
	e.err = firstErr(e.err, e.enc.EncodeBytesLen(len(payload)))
	e.enc.Reset(&tail)
	e.err = firstErr(e.err, e.enc.EncodeUint32(crc32.Checksum(payload, castagnoli)))
	if e.err != nil {
		return e.err
	}
	for _, b := range [][]byte{head.Bytes(), payload, tail.Bytes()} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// encodePayload returns the payload map of a valid f.
func encodePayload(f *File) []byte {
	var buf bytes.Buffer
	size := 4096 + 4*(len(f.Preprocess.ZCA)+len(f.Preprocess.ZCAMean))
	for _, t := range f.Tensors {
		size += 64 + len(t.Name) + 4*len(t.Data)
	}
	buf.Grow(size)
	e := encoder{enc: msgpack.NewEncoder(&buf), buf: &buf}

	e.mapLen(5)
	e.str("arch")
	e.spec(f)

	e.str("classes")
	e.arrayLen(len(f.Classes))
	for _, c := range f.Classes {
		e.str(c)
	}

	e.str("preprocess")
	e.preprocess(&f.Preprocess, f.ZCADType)

	e.str("tensors")
	e.arrayLen(len(f.Tensors))
	for _, t := range f.Tensors {
		e.tensor(t.Name, t.Shape, t.DType, t.Data)
	}

	e.str("meta")
	keys := make([]string, 0, len(f.Meta))
	for k := range f.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.mapLen(len(keys))
	for _, k := range keys {
		e.str(k)
		e.str(f.Meta[k])
	}
	if e.err != nil {
		panic(e.err) // bytes.Buffer does not fail; it panics itself when out of memory
	}
	return buf.Bytes()
}

// encoder writes msgpack values and keeps the first error.
type encoder struct {
	enc *msgpack.Encoder
	buf *bytes.Buffer // what enc writes to, for blobs
	err error
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (e *encoder) str(s string)      { e.err = firstErr(e.err, e.enc.EncodeString(s)) }
func (e *encoder) uint(n uint64)     { e.err = firstErr(e.err, e.enc.EncodeUint(n)) }
func (e *encoder) int(n int)         { e.err = firstErr(e.err, e.enc.EncodeInt(int64(n))) }
func (e *encoder) float32(x float32) { e.err = firstErr(e.err, e.enc.EncodeFloat32(x)) }
func (e *encoder) bool(b bool)       { e.err = firstErr(e.err, e.enc.EncodeBool(b)) }
func (e *encoder) arrayLen(n int)    { e.err = firstErr(e.err, e.enc.EncodeArrayLen(n)) }
func (e *encoder) mapLen(n int)      { e.err = firstErr(e.err, e.enc.EncodeMapLen(n)) }
func (e *encoder) float32s(v []float32) {
	e.arrayLen(len(v))
	for _, x := range v {
		e.float32(x)
	}
}

// set32 reports whether x is not +0. A −0 is written, as msgpack's omitempty
// does, so that it reads back as −0.
func set32(x float32) bool { return math.Float32bits(x) != 0 }

// spec writes f.Arch with the keys of kernel.Spec's msgpack tags, leaving out
// zero fields tagged omitempty.
func (e *encoder) spec(f *File) {
	s := &f.Arch
	e.mapLen(3)
	e.str("name")
	e.str(s.Name)
	e.str("input")
	e.arrayLen(3)
	for _, n := range s.Input {
		e.int(n)
	}
	e.str("layers")
	e.arrayLen(len(s.Layers))
	for _, l := range s.Layers {
		n := 1
		for _, set := range []bool{l.Name != "", l.Out != 0, l.Kernel != 0, l.Stride != 0, l.Pad != 0, l.Ceil, set32(l.Slope), set32(l.P), set32(l.Eps), set32(l.Momentum)} {
			if set {
				n++
			}
		}
		e.mapLen(n)
		e.str("type")
		e.str(l.Type)
		if l.Name != "" {
			e.str("name")
			e.str(l.Name)
		}
		for _, kv := range []struct {
			key string
			v   int
		}{{"out", l.Out}, {"kernel", l.Kernel}, {"stride", l.Stride}, {"pad", l.Pad}} {
			if kv.v != 0 {
				e.str(kv.key)
				e.int(kv.v)
			}
		}
		if l.Ceil {
			e.str("ceil")
			e.bool(true)
		}
		for _, kv := range []struct {
			key string
			v   float32
		}{{"slope", l.Slope}, {"p", l.P}, {"eps", l.Eps}, {"momentum", l.Momentum}} {
			if set32(kv.v) {
				e.str(kv.key)
				e.float32(kv.v)
			}
		}
	}
}

// preprocess writes p, leaving out empty fields.
func (e *encoder) preprocess(p *preprocess.Params, zca DType) {
	n := 1
	for _, set := range []bool{len(p.Mean) > 0, len(p.Std) > 0, set32(p.GCNScale), zca != "", zca != "", p.Place != "", p.Size != [2]int{}} {
		if set {
			n++
		}
	}
	e.mapLen(n)
	e.str("kind")
	e.str(p.Kind)
	if len(p.Mean) > 0 {
		e.str("mean")
		e.float32s(p.Mean)
	}
	if len(p.Std) > 0 {
		e.str("std")
		e.float32s(p.Std)
	}
	if set32(p.GCNScale) {
		e.str("gcn_scale")
		e.float32(p.GCNScale)
	}
	if zca != "" {
		d := len(p.ZCAMean)
		e.str("zca_mean")
		e.tensor("", []int{d}, zca, p.ZCAMean)
		e.str("zca")
		e.tensor("", []int{d, d}, zca, p.ZCA)
	}
	if p.Place != "" {
		e.str("place")
		e.str(p.Place)
	}
	if p.Size != [2]int{} {
		e.str("size")
		e.arrayLen(2)
		e.int(p.Size[0])
		e.int(p.Size[1])
	}
}

// tensor writes a tensor map, without "name" if name is empty. The data must
// have passed checkValues.
func (e *encoder) tensor(name string, shape []int, d DType, data []float32) {
	if name != "" {
		e.mapLen(4)
		e.str("name")
		e.str(name)
	} else {
		e.mapLen(3)
	}
	e.str("shape")
	e.arrayLen(len(shape))
	for _, n := range shape {
		e.int(n)
	}
	e.str("dtype")
	e.str(string(d))
	e.str("data")
	e.err = firstErr(e.err, e.enc.EncodeBytesLen(len(data)*d.size()))
	e.buf.Grow(len(data) * d.size())
	b := e.buf.AvailableBuffer()
	switch d {
	case F32:
		for _, x := range data {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	case F16:
		for _, x := range data {
			h, _ := f32ToF16(x)
			b = binary.LittleEndian.AppendUint16(b, h)
		}
	}
	e.buf.Write(b)
}
