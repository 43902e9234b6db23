package format

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// sentinels are the errors every error of Unmarshal must wrap one of.
var sentinels = []error{
	ErrMagic, ErrVersion, ErrTruncated, ErrTrailing, ErrChecksum, ErrMalformed, ErrLimit,
	ErrDType, ErrShape, ErrDuplicate, ErrMissing, ErrExtra, ErrNotFinite, ErrClasses,
	kernel.ErrSpec, preprocess.ErrParams,
}

func knownErr(err error) bool {
	return slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) })
}

// tree is a payload decoded into generic msgpack values, to edit.
type tree = map[string]any

func payloadTree(t testing.TB, f *File) tree {
	t.Helper()
	payload, _, err := openEnvelope(mustMarshal(t, f))
	if err != nil {
		t.Fatal(err)
	}
	var m tree
	if err := msgpack.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// enc is the msgpack encoding of v, maps with sorted keys.
func enc(v any) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.SetSortMapKeys(true)
	if err := e.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// rawMap encodes a map from key, value pairs in order, repeats allowed.
func rawMap(kv ...any) msgpack.RawMessage {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.SetSortMapKeys(true)
	if err := e.EncodeMapLen(len(kv) / 2); err != nil {
		panic(err)
	}
	for _, v := range kv {
		if err := e.Encode(v); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

func envelope(v ...any) []byte { return enc(v) }

func tensorAt(m tree, i int) tree  { return m["tensors"].([]any)[i].(tree) }
func layerAt(m tree, i int) tree   { return m["arch"].(tree)["layers"].([]any)[i].(tree) }
func sub(m tree, key string) tree  { return m[key].(tree) }
func sealed(m tree) []byte         { return seal(enc(m)) }
func f32Bytes(v ...float32) []byte { return encodeF32(v) }

func encodeF32(v []float32) []byte {
	var b []byte
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

// hostile lists inputs Unmarshal must refuse, with the error each must wrap.
func hostile(t testing.TB) []struct {
	name string
	in   []byte
	want error
} {
	valid := mustMarshal(t, testFile(t, F32))
	payload, _, _ := openEnvelope(valid)
	edit := func(mutate func(m tree)) []byte {
		m := payloadTree(t, testFile(t, F32))
		mutate(m)
		return sealed(m)
	}
	editZCA := func(mutate func(m tree)) []byte {
		m := payloadTree(t, zcaFile(t, F16))
		mutate(m)
		return sealed(m)
	}
	huge := msgpack.RawMessage{0xdd, 0xff, 0xff, 0xff, 0xff} // array32 of 2³²−1 elements
	return []struct {
		name string
		in   []byte
		want error
	}{
		// The envelope.
		{"empty", nil, ErrTruncated},
		{"array header claiming 4 billion elements", huge, ErrTruncated},
		{"map header claiming 4 billion entries", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, ErrMagic},
		{"JSON", []byte(`{"arch": {}}`), ErrMagic},
		{"one element", envelope(Magic), ErrMagic},
		{"other magic", envelope("safetensors", 1, payload, 0), ErrMagic},
		{"long magic", envelope(strings.Repeat("x", 100), 1, payload, 0), ErrMagic},
		{"magic not a string", envelope(1, 1, payload, 0), ErrMagic},
		{"version 2", envelope(Magic, 2, payload, 0), ErrVersion},
		{"version 0", envelope(Magic, 0, payload, 0), ErrVersion},
		{"version as string", envelope(Magic, "1", payload, 0), ErrVersion},
		{"version 2, other shape", envelope(Magic, 2, "anything"), ErrVersion},
		{"five elements", envelope(Magic, 1, payload, 0, 0), ErrMalformed},
		{"payload as string", envelope(Magic, 1, string(payload), 0), ErrMalformed},
		{"payload bin claiming 4 GiB", slices.Concat([]byte{0x94}, enc(Magic), enc(1), []byte{0xc6, 0xff, 0xff, 0xff, 0xff}), ErrTruncated},
		{"checksum as bin", envelope(Magic, 1, payload, []byte{1, 2, 3, 4}), ErrMalformed},
		{"checksum over 32 bits", envelope(Magic, 1, payload, uint64(1)<<40), ErrLimit},
		{"wrong checksum", append(valid[:len(valid)-1:len(valid)-1], valid[len(valid)-1]^1), ErrChecksum},
		{"payload byte flipped", func() []byte {
			b := slices.Clone(valid)
			b[len(b)/2] ^= 0x10
			return b
		}(), ErrChecksum},
		{"trailing byte", append(slices.Clone(valid), 0xc0), ErrTrailing},
		{"second file appended", append(slices.Clone(valid), valid...), ErrTrailing},

		// The payload.
		{"payload array claiming 4 billion", seal(huge), ErrMalformed},
		{"payload map claiming 4 billion", seal([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}), ErrTruncated},
		{"payload trailing byte", seal(append(slices.Clone(payload), 0xc0)), ErrTrailing},
		{"payload empty", seal(nil), ErrTruncated},
		{"missing meta", edit(func(m tree) { delete(m, "meta") }), ErrMissing},
		{"unknown key", edit(func(m tree) { m["weights"] = 1 }), ErrMalformed},
		{"duplicate key", func() []byte {
			m := payloadTree(t, testFile(t, F32))
			return seal(rawMap("arch", m["arch"], "classes", m["classes"], "preprocess", m["preprocess"],
				"tensors", m["tensors"], "meta", m["meta"], "classes", m["classes"]))
		}(), ErrDuplicate},
		{"64 keys", seal(rawMap(func() []any {
			var kv []any
			for i := range 65 {
				kv = append(kv, strings.Repeat("k", i+1), 0)
			}
			return kv
		}()...)), ErrLimit},
		{"arch as ext", edit(func(m tree) { m["arch"] = msgpack.RawMessage{0xd4, 0x01, 0x00} }), ErrMalformed},
		{"arch invalid", edit(func(m tree) { layerAt(m, 0)["kernel"] = 0 }), kernel.ErrSpec},
		{"arch input of 2", edit(func(m tree) { sub(m, "arch")["input"] = []int{3, 8} }), ErrMalformed},
		{"arch input of 4 billion", edit(func(m tree) { sub(m, "arch")["input"] = huge }), ErrTruncated},
		{"layers claiming 4 billion", edit(func(m tree) { sub(m, "arch")["layers"] = huge }), ErrTruncated},
		{"too many layers", edit(func(m tree) { sub(m, "arch")["layers"] = make([]tree, kernel.MaxLayers+1) }), ErrLimit},
		{"layer without type", edit(func(m tree) { delete(layerAt(m, 0), "type") }), ErrMissing},
		{"layer out 2⁶⁴−1", edit(func(m tree) { layerAt(m, 0)["out"] = uint64(math.MaxUint64) }), ErrLimit},
		{"layer out −2⁶³", edit(func(m tree) { layerAt(m, 0)["out"] = int64(math.MinInt64) }), ErrLimit},
		{"layer kernel negative", edit(func(m tree) { layerAt(m, 0)["kernel"] = -3 }), kernel.ErrSpec},
		{"layer kernel as float", edit(func(m tree) { layerAt(m, 0)["kernel"] = 3.0 }), ErrMalformed},
		{"slope as float64", edit(func(m tree) { layerAt(m, 1)["slope"] = 0.1 }), ErrMalformed},
		{"slope NaN", edit(func(m tree) { layerAt(m, 1)["slope"] = float32(math.NaN()) }), kernel.ErrSpec},
		{"ceil as int", edit(func(m tree) { layerAt(m, 2)["ceil"] = 1 }), ErrMalformed},
		{"unknown layer key", edit(func(m tree) { layerAt(m, 2)["dilation"] = 2 }), ErrMalformed},
		{"classes claiming 4 billion", edit(func(m tree) { m["classes"] = huge }), ErrTruncated},
		{"class count", edit(func(m tree) { m["classes"] = []string{"one"} }), ErrClasses},
		{"class as bin", edit(func(m tree) { m["classes"] = []any{"a", []byte("b")} }), ErrMalformed},
		{"class not UTF-8", edit(func(m tree) { m["classes"] = []string{"a", "\xff"} }), ErrMalformed},
		{"class too long", edit(func(m tree) { m["classes"] = []string{"a", strings.Repeat("b", MaxString+1)} }), ErrLimit},
		{"class string claiming 4 GiB", edit(func(m tree) {
			m["classes"] = msgpack.RawMessage{0x92, 0xdb, 0xff, 0xff, 0xff, 0xff}
		}), ErrTruncated},
		{"bad std", edit(func(m tree) { sub(m, "preprocess")["std"] = []float32{1, 0, 1} }), preprocess.ErrParams},
		{"std NaN", edit(func(m tree) { sub(m, "preprocess")["std"] = []float32{1, float32(math.NaN()), 1} }), preprocess.ErrParams},
		{"mean Inf", edit(func(m tree) { sub(m, "preprocess")["mean"] = []float32{float32(math.Inf(1)), 0, 0} }), ErrNotFinite},
		{"mean claiming 4 billion", edit(func(m tree) { sub(m, "preprocess")["mean"] = huge }), ErrTruncated},
		{"no kind", edit(func(m tree) { delete(sub(m, "preprocess"), "kind") }), ErrMissing},

		// Tensors.
		{"tensors claiming 4 billion", edit(func(m tree) { m["tensors"] = huge }), ErrTruncated},
		{"too many tensors", edit(func(m tree) { m["tensors"] = make([]int, MaxTensors+1) }), ErrLimit},
		{"tensor not a map", edit(func(m tree) { m["tensors"].([]any)[0] = "conv1.weight" }), ErrMalformed},
		{"unknown dtype", edit(func(m tree) { tensorAt(m, 0)["dtype"] = "bf16" }), ErrDType},
		{"empty dtype", edit(func(m tree) { tensorAt(m, 0)["dtype"] = "" }), ErrDType},
		{"long dtype", edit(func(m tree) { tensorAt(m, 0)["dtype"] = strings.Repeat("f", 17) }), ErrLimit},
		{"dtype f16 with f32 data", edit(func(m tree) { tensorAt(m, 0)["dtype"] = "f16" }), ErrShape},
		{"blob short", edit(func(m tree) { t := tensorAt(m, 1); t["data"] = t["data"].([]byte)[:12] }), ErrShape},
		{"blob long", edit(func(m tree) { t := tensorAt(m, 1); t["data"] = append(t["data"].([]byte), 0, 0, 0, 0) }), ErrShape},
		{"blob odd", edit(func(m tree) { t := tensorAt(m, 1); t["data"] = append(t["data"].([]byte), 0) }), ErrShape},
		{"blob claiming 4 GiB", edit(func(m tree) { tensorAt(m, 1)["data"] = msgpack.RawMessage{0xc6, 0xff, 0xff, 0xff, 0xff} }), ErrTruncated},
		{"blob swallowing what follows", edit(func(m tree) {
			// A bin header whose length runs over the rest of the payload's keys.
			tensorAt(m, 1)["data"] = msgpack.RawMessage{0xc5, 0x01, 0x00}
		}), ErrTruncated},
		{"blob as array of floats", edit(func(m tree) { tensorAt(m, 1)["data"] = []float32{0, 0, 0, 0} }), ErrMalformed},
		{"huge shape", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{1 << 29, 1 << 29, 1 << 29, 1 << 29} }), ErrLimit},
		{"shape product overflows int64", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{1 << 20, 1 << 20, 1 << 20, 1 << 20} }), ErrLimit},
		{"dimension over the limit", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{MaxElements + 1} }), ErrLimit},
		{"zero dimension", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{0, 3, 3, 3}; tensorAt(m, 0)["data"] = []byte{} }), ErrShape},
		{"nine dimensions", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{1, 1, 1, 1, 1, 1, 1, 1, 108} }), ErrLimit},
		{"negative dimension", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{-4, 3, 3, 3} }), ErrMalformed},
		{"shape claiming 4 billion", edit(func(m tree) { tensorAt(m, 0)["shape"] = huge }), ErrTruncated},
		{"wrong shape, right size", edit(func(m tree) { tensorAt(m, 0)["shape"] = []int{3, 4, 3, 3} }), ErrShape},
		{"NaN", edit(func(m tree) {
			t := tensorAt(m, 1)
			t["data"] = f32Bytes(0, float32(math.NaN()), 0, 0)
		}), ErrNotFinite},
		{"+Inf", edit(func(m tree) { tensorAt(m, 1)["data"] = f32Bytes(0, 0, 0, float32(math.Inf(1))) }), ErrNotFinite},
		{"f16 Inf", edit(func(m tree) {
			t := tensorAt(m, 1)
			t["dtype"], t["data"] = "f16", []byte{0, 0, 0x00, 0x7c, 0, 0, 0, 0}
		}), ErrNotFinite},
		{"f16 NaN", edit(func(m tree) {
			t := tensorAt(m, 1)
			t["dtype"], t["data"] = "f16", []byte{0, 0, 0, 0, 0, 0, 0x01, 0xfe}
		}), ErrNotFinite},
		{"duplicate tensor", edit(func(m tree) { m["tensors"] = append(m["tensors"].([]any), tensorAt(m, 0)) }), ErrDuplicate},
		{"missing tensor", edit(func(m tree) { m["tensors"] = m["tensors"].([]any)[1:] }), ErrMissing},
		{"extra tensor", edit(func(m tree) { tensorAt(m, 0)["name"] = "conv9.weight" }), ErrExtra},
		{"tensor without data", edit(func(m tree) { delete(tensorAt(m, 0), "data") }), ErrMissing},
		{"tensor with offsets", edit(func(m tree) { tensorAt(m, 0)["offset"] = 0 }), ErrMalformed},
		{"duplicate tensor key", edit(func(m tree) {
			t := tensorAt(m, 3)
			m["tensors"].([]any)[3] = rawMap("name", t["name"], "shape", t["shape"], "dtype", t["dtype"], "data", t["data"], "data", t["data"])
		}), ErrDuplicate},

		// Preprocessing tensors.
		{"ZCA dtypes differ", editZCA(func(m tree) {
			z := sub(sub(m, "preprocess"), "zca_mean")
			z["dtype"], z["data"] = "f32", make([]byte, 64)
		}), ErrDType},
		{"ZCA not square", editZCA(func(m tree) {
			z := sub(sub(m, "preprocess"), "zca")
			z["shape"], z["data"] = []int{16, 8}, make([]byte, 256)
		}), ErrShape},
		{"ZCA mean 2-D", editZCA(func(m tree) { sub(sub(m, "preprocess"), "zca_mean")["shape"] = []int{4, 4} }), ErrShape},
		{"ZCA wrong size", editZCA(func(m tree) {
			z := sub(sub(m, "preprocess"), "zca")
			z["shape"], z["data"] = []int{4, 4}, make([]byte, 32)
		}), preprocess.ErrParams},
		{"ZCA tensor with a name", editZCA(func(m tree) { sub(sub(m, "preprocess"), "zca")["name"] = "zca" }), ErrMalformed},
		{"ZCA f16 Inf", editZCA(func(m tree) { sub(sub(m, "preprocess"), "zca")["data"].([]byte)[1] = 0xfc }), ErrNotFinite},
		{"ZCA without kind", editZCA(func(m tree) { sub(m, "preprocess")["kind"] = "none" }), preprocess.ErrParams},

		// Metadata.
		{"meta duplicate", edit(func(m tree) { m["meta"] = rawMap("a", "1", "a", "2") }), ErrDuplicate},
		{"meta too many", edit(func(m tree) {
			mm := map[string]string{}
			for i := range MaxMeta + 1 {
				mm[strings.Repeat("k", i+1)] = ""
			}
			m["meta"] = mm
		}), ErrLimit},
		{"meta value not a string", edit(func(m tree) { m["meta"] = map[string]int{"epochs": 350} }), ErrMalformed},
		{"meta map claiming 4 billion", edit(func(m tree) { m["meta"] = msgpack.RawMessage{0xdf, 0xff, 0xff, 0xff, 0xff} }), ErrTruncated},
	}
}

func TestUnmarshalHostile(t *testing.T) {
	cases := hostile(t)
	reached := map[error]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Unmarshal(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Unmarshal = %v, want %v", err, tc.want)
			}
			if f != nil {
				t.Fatal("Unmarshal returned a File with an error")
			}
			if !strings.HasPrefix(err.Error(), "format: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			reached[tc.want] = true
		})
	}
	for _, s := range sentinels {
		if !reached[s] {
			t.Errorf("no case reaches %v", s)
		}
	}
}

// Decoding a hostile file allocates in proportion to its size, whatever its
// length prefixes claim.
func TestUnmarshalBoundedMemory(t *testing.T) {
	var ms runtime.MemStats
	for _, tc := range hostile(t) {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		Unmarshal(tc.in)
		runtime.ReadMemStats(&ms)
		if got, limit := ms.TotalAlloc-before, uint64(8*len(tc.in)+64<<10); got > limit {
			t.Errorf("%s: %d-byte input allocated %d bytes (limit %d)", tc.name, len(tc.in), got, limit)
		}
	}
}

// Every proper prefix of a valid file, and every proper prefix of a valid
// payload in a valid envelope, is a truncated file.
func TestTruncated(t *testing.T) {
	for _, f := range []*File{testFile(t, F16), zcaFile(t, F16)} {
		b := mustMarshal(t, f)
		payload, _, _ := openEnvelope(b)
		for n := range len(b) {
			if _, err := Unmarshal(b[:n:n]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("file cut to %d of %d bytes: %v", n, len(b), err)
			}
		}
		for n := range len(payload) {
			if _, err := Unmarshal(seal(payload[:n:n])); !errors.Is(err, ErrTruncated) {
				t.Fatalf("payload cut to %d of %d bytes: %v", n, len(payload), err)
			}
		}
	}
}

// Every single-bit error in a file is detected.
func TestBitFlips(t *testing.T) {
	b := mustMarshal(t, testFile(t, F16))
	for i := range len(b) * 8 {
		c := slices.Clone(b)
		c[i/8] ^= 1 << (i % 8)
		if _, err := Unmarshal(c); err == nil || !knownErr(err) {
			t.Fatalf("bit %d flipped: %v", i, err)
		}
	}
}

type endless struct{ n int64 }

func (r *endless) Read(p []byte) (int, error) {
	r.n += int64(len(p))
	return len(p), nil
}

func TestDecodeLimit(t *testing.T) {
	r := &endless{}
	if _, err := decode(r, 1000); !errors.Is(err, ErrLimit) {
		t.Fatalf("endless stream: %v", err)
	}
	if r.n > 1001 {
		t.Fatalf("read %d bytes past a 1000-byte limit", r.n)
	}
	b := mustMarshal(t, testFile(t, F32))
	if _, err := decode(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("file of exactly the limit: %v", err)
	}
	if _, err := decode(bytes.NewReader(b), int64(len(b)-1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("file one byte over the limit: %v", err)
	}
	f, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffFile(testFile(t, F32), f); d != "" {
		t.Fatal(d)
	}
	if _, err := Decode(iotestErr{}); err == nil || knownErr(err) {
		t.Fatalf("read error: %v", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

// What msgpack's own reflection encoder makes of a kernel.Spec, the
// hand-written decoder reads back.
func TestSpecMatchesMsgpackTags(t *testing.T) {
	s := testSpec()
	b, err := msgpack.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var got kernel.Spec
	r := newReader(b)
	if err := r.spec(&got); err != nil || r.left() != 0 {
		t.Fatalf("decoding msgpack.Marshal(spec): %v, %d bytes left", err, r.left())
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("got %+v, want %+v", got, s)
	}
}

// The decoder knows every field of kernel.Spec, kernel.LayerSpec and
// preprocess.Params. If this fails, kernel gained a field that the format
// must learn to store (in encode.go and decode.go).
func TestKeysMatchStructs(t *testing.T) {
	tags := func(v any) []string {
		var keys []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("msgpack"), ",")
			if tag != "-" {
				keys = append(keys, tag)
			}
		}
		return keys
	}
	for _, tc := range []struct {
		v    any
		keys []string
	}{
		{kernel.Spec{}, specKeys},
		{kernel.LayerSpec{}, layerKeys},
		{preprocess.Params{}, append(preprocessKeys[:4:4], preprocessKeys[6:]...)}, // all but the ZCA tensors
	} {
		if got := tags(tc.v); !slices.Equal(got, tc.keys) {
			t.Errorf("%T has msgpack keys %q, the format knows %q", tc.v, got, tc.keys)
		}
	}
	if n := reflect.TypeOf(preprocess.Params{}).NumField(); n != 8 {
		t.Errorf("preprocess.Params has %d fields, the format knows 8", n)
	}
}
