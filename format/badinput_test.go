package format

// Bad weight files as ReadFile meets them (issue 18): each is refused with
// an error that names the file and wraps the sentinel saying what is
// wrong, returns no File, leaves the file as it was, and allocates no more
// than a small multiple of the file's size whatever its headers claim.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestReadFileBadInput(t *testing.T) {
	valid := mustMarshal(t, testFile(t, F32))
	payload, _, err := openEnvelope(valid)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(valid, payload) // where the payload starts
	flip := func(i int, bit byte) []byte {
		b := slices.Clone(valid)
		b[i] ^= bit
		return b
	}
	shaped := func(i int, shape []int, dtype string) []byte {
		m := payloadTree(t, testFile(t, F32))
		tensorAt(m, i)["shape"], tensorAt(m, i)["dtype"] = shape, dtype
		return sealed(m)
	}
	zcaShaped := func(key string, shape []int) []byte {
		m := payloadTree(t, zcaFile(t, F16))
		sub(sub(m, "preprocess"), key)["shape"] = shape
		return sealed(m)
	}
	for _, c := range []struct {
		name string
		in   []byte
		want error
		says string // words the message must hold, besides the path
	}{
		{"zero bytes", nil, ErrTruncated, "want a value, file ends"},
		{"one byte", valid[:1], ErrTruncated, "array of 4 elements in 0 bytes"},
		{"cut in the payload", valid[:at+len(payload)/2], ErrTruncated, "payload: "},
		{"cut before the checksum's last byte", valid[:len(valid)-1], ErrTruncated, "checksum: "},
		{"bit flipped in the magic", flip(2, 0x20), ErrMagic, ""},
		{"bit flipped in the version", flip(len(Magic)+2, 0x02), ErrVersion, ""},
		{"bit flipped in the payload", flip(at+len(payload)/2, 0x10), ErrChecksum, "payload CRC-32C is"},
		{"bit flipped in the checksum", flip(len(valid)-1, 0x01), ErrChecksum, "payload CRC-32C is"},

		// Shapes claiming far more than the data holds: refused by
		// comparing the element count with the blob's length, before
		// allocating for the elements.
		{"f32 shape of 2²⁸ elements over 16 bytes", shaped(1, []int{1 << 14, 1 << 14}, "f32"), ErrShape,
			"shape [16384 16384] of f32 is 268435456 elements, data holds"},
		{"f16 shape of 2²⁹ elements (the limit)", shaped(0, []int{8192, 8192, 8}, "f16"), ErrShape,
			"shape [8192 8192 8] of f16 is 536870912 elements"},
		{"shape of 2³⁰ elements", shaped(0, []int{1 << 15, 1 << 15}, "f32"), ErrLimit, "more than 536870912 elements"},
		{"ZCA mean of 2²⁸ elements", zcaShaped("zca_mean", []int{1 << 28}), ErrShape, "shape [268435456] of f16"},
		{"ZCA of 2²⁸ elements", zcaShaped("zca", []int{1 << 14, 1 << 14}), ErrShape, "shape [16384 16384] of f16"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.msgpack")
			if err := os.WriteFile(path, c.in, 0o644); err != nil {
				t.Fatal(err)
			}
			var f *File
			var err error
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f, err = ReadFile(path)
			runtime.ReadMemStats(&after)
			t.Log(err)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if f != nil {
				t.Error("a File with the error")
			}
			for _, w := range []string{path, c.says} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if used := after.TotalAlloc - before.TotalAlloc; used > 1<<20 {
				t.Errorf("allocated %d KiB for a file of %d bytes", used>>10, len(c.in))
			}
			if got, err := os.ReadFile(path); err != nil || !slices.Equal(got, c.in) {
				t.Errorf("the file changed: %v", err)
			}
		})
	}
}
