package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

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
