package format

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal checks that Unmarshal never panics, that every error it
// returns wraps a sentinel, and that whatever it accepts re-marshals to a
// file that decodes to the same File and the same bytes.
//
// Each input is also tried with its checksum made right, so that mutations
// of the payload reach the payload decoder instead of stopping at the
// checksum.
func FuzzUnmarshal(f *testing.F) {
	for _, tc := range hostile(f) {
		if len(tc.in) <= 16<<10 { // big seeds only slow the mutator down
			f.Add(tc.in)
		}
	}
	for _, file := range []*File{testFile(f, F32), testFile(f, F16), zcaFile(f, F16)} {
		b := mustMarshal(f, file)
		f.Add(b)
		f.Add(b[:len(b)/2])
		payload, _, _ := openEnvelope(b)
		f.Add(payload)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
		if payload, _, err := openEnvelope(b); err == nil {
			check(t, seal(payload))
		}
	})
}

func check(t *testing.T, b []byte) {
	f, err := Unmarshal(b)
	if err != nil {
		if f != nil {
			t.Fatal("a File with an error")
		}
		if !knownErr(err) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		return
	}
	b2, err := Marshal(f)
	if err != nil {
		t.Fatalf("accepted file does not re-marshal: %v", err)
	}
	g, err := Unmarshal(b2)
	if err != nil {
		t.Fatalf("re-marshaled file does not decode: %v", err)
	}
	if d := diffFile(f, g); d != "" {
		t.Fatalf("re-marshaled file decodes differently: %s", d)
	}
	if b3 := mustMarshal(t, g); !bytes.Equal(b2, b3) {
		t.Fatal("Marshal is not a fixed point")
	}
}
