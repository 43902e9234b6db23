//go:build wasip1

// Command wasip1 is allcnn for WASI hosts (wazero, wasmtime, Node's WASI):
// a reactor module that loads weight files, classifies images and computes
// saliency maps through package wasm/allcnn. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o allcnn.wasm ./wasm/wasip1
//
// # ABI, version 1
//
// The module imports wasi_snapshot_preview1 and the module "allcnn_simd"
// (sgemm_work and sgemm: the exports of wasm/simd/simd128.wasm instantiated
// with this module's memory, which the kernels import as ("go", "memory"),
// so a wazero host names this module "go"; a host without them answers
// sgemm_work with 0 and gets gonum's scalar Go; see package wasm/simd and
// the conformance test of package wasm), and exports its linear memory as
// "memory". The
// host must call "_initialize" once, before any other export (it runs the Go
// runtime's and packages' initialisation); there is no "_start". Calls must
// not overlap (one thread).
//
// Memory. The host reserves memory with alloc and releases it with free.
// Every pointer argument must be a value alloc returned and free has not
// released — the base of an allocation, not an offset into one — and the
// bytes a call reads or writes must fit in that allocation; the module
// checks both and fails the call otherwise. Numbers in memory are
// little-endian: float32 arrays for inputs, logits and maps, int32 for
// targets. Memory may grow during any call, so a host must re-read the
// memory's size or view after each call.
//
// Errors. A failing call returns its failure value (0 for alloc and load, −1
// for the others) and keeps a message that last_error returns; a Go panic
// inside a call is recovered and reported the same way, and the instance
// stays usable. Running out of memory is fatal to the instance (the Go
// runtime aborts).
//
// Images are w×h RGBA pixels, 4 bytes each, row-major, alpha ignored; they
// are cropped to the network's aspect ratio and resized (see
// preprocess.FromRGBA). A prepared input ("x") is the network input, C·H·W
// float32 values (the file's preprocessing applied), as input writes it.
// Saliency options are a query string, "method=guided&layer=conv6&unit=-1",
// with the keys of allcnn.SaliencyRequest.Set (method, layer, unit, at,
// switches, reduce, sign, clip, colormap, overlay); absent keys mean the
// gradient of the top class.
//
// Exports (i32 unless stated):
//
//	abi_version() → 1
//	simd() → 1 | 0                     1: matrix products run on the host's SIMD128
//	                                   kernels; 0: on gonum's scalar Go
//	alloc(size) → ptr                  0: failed (size < 1)
//	free(ptr) → 0 | −1                 free(0) does nothing
//	last_error(ptr, cap) → n           the last failure's message is n bytes of
//	                                   UTF-8; min(n, cap) of them are written at ptr
//	load(ptr, len) → handle            a weight file; handle > 0, 0: failed
//	unload(handle) → 0 | −1
//	info_json(handle, ptr, cap) → n    the model's allcnn.Info as JSON (Info.JSON) is
//	                                   n bytes, written at ptr if cap ≥ n; −1: failed
//	input_size(handle) → C·H·W         values in a prepared input; −1: failed
//	classes(handle) → K                number of classes; −1: failed
//	input(handle, rgba, w, h, x) → 0 | −1
//	                                   writes the prepared input (C·H·W float32) at x
//	logits(handle, x, out) → 0 | −1    reads C·H·W float32 at x, writes K float32 at out
//	classify(handle, rgba, w, h, out) → 0 | −1
//	                                   writes K float32 probabilities (softmax) at out
//	saliency(handle, x, opts, opts_len, out, target) → 0 | −1
//	                                   reads x, writes the map (C·H·W float32) at out and,
//	                                   unless target is 0, the unit explained as three
//	                                   int32 at target: unit, y, x (see allcnn.Saliency);
//	                                   opts may be 0 when opts_len is 0
//	saliency_rgba(handle, rgba, w, h, opts, opts_len, out, raw, target) → 0 | −1
//	                                   the map of the image drawn at the input size:
//	                                   4·W·H bytes RGBA at out; unless 0, the map as
//	                                   C·H·W float32 at raw, the unit at target
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/wasm/simd"
)

func main() {}

// useSIMD says whether the host's SIMD128 kernels compute the matrix
// products (set while _initialize runs the package's initialisation).
var useSIMD = simd.Use()

var (
	allocs  = map[uint32][]byte{} // alloc's blocks by address, kept alive here
	models  = map[int32]*allcnn.Model{}
	handles int32 // the last handle given
	lastErr string
)

// call runs f, recording its error or panic; fail is the export's failure
// value.
func call(fail int32, f func() (int32, error)) (r int32) {
	defer func() {
		if p := recover(); p != nil {
			lastErr = fmt.Sprintf("allcnn: internal error (please report): %v", p)
			r = fail
		}
	}()
	r, err := f()
	if err != nil {
		lastErr = err.Error()
		return fail
	}
	return r
}

// mem returns the first n bytes of the allocation at p.
func mem(p uint32, n int64, what string) ([]byte, error) {
	b, ok := allocs[p]
	if !ok {
		return nil, fmt.Errorf("allcnn: %s: pointer %#x is not a block from alloc", what, p)
	}
	if n < 0 || n > int64(len(b)) {
		return nil, fmt.Errorf("allcnn: %s: needs %d bytes, the block at %#x has %d", what, n, p, len(b))
	}
	return b[:n], nil
}

// model returns the model of a handle.
func model(h int32) (*allcnn.Model, error) {
	m, ok := models[h]
	if !ok {
		return nil, fmt.Errorf("allcnn: no model with handle %d", h)
	}
	return m, nil
}

func pixels(rgba uint32, w, h int32) ([]byte, error) {
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("allcnn: image of %d×%d pixels", w, h)
	}
	return mem(rgba, 4*int64(w)*int64(h), "rgba")
}

func readFloats(p uint32, n int, what string) ([]float32, error) {
	b, err := mem(p, 4*int64(n), what)
	if err != nil {
		return nil, err
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func writeFloats(p uint32, v []float32, what string) error {
	b, err := mem(p, 4*int64(len(v)), what)
	if err != nil {
		return err
	}
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return nil
}

//go:wasmexport abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport simd
func simdOn() int32 {
	if useSIMD {
		return 1
	}
	return 0
}

//go:wasmexport alloc
func alloc(size int32) uint32 {
	return uint32(call(0, func() (int32, error) {
		if size < 1 {
			return 0, fmt.Errorf("allcnn: alloc(%d)", size)
		}
		b := make([]byte, size)
		p := uint32(uintptr(unsafe.Pointer(&b[0])))
		allocs[p] = b
		return int32(p), nil
	}))
}

//go:wasmexport free
func free(p uint32) int32 {
	return call(-1, func() (int32, error) {
		if _, ok := allocs[p]; !ok && p != 0 {
			return 0, fmt.Errorf("allcnn: free: pointer %#x is not a block from alloc", p)
		}
		delete(allocs, p)
		return 0, nil
	})
}

// last_error does not go through call: its own failure (a bad pointer,
// −1) must not replace the message.
//
//go:wasmexport last_error
func lastError(p uint32, capacity int32) int32 {
	if capacity > 0 {
		b, ok := allocs[p]
		if !ok {
			return -1
		}
		copy(b[:min(int(capacity), len(b))], lastErr)
	}
	return int32(len(lastErr))
}

//go:wasmexport load
func load(p uint32, n int32) int32 {
	return call(0, func() (int32, error) {
		b, err := mem(p, int64(n), "load")
		if err != nil {
			return 0, err
		}
		m, err := allcnn.Load(b)
		if err != nil {
			return 0, err
		}
		handles++
		models[handles] = m
		return handles, nil
	})
}

//go:wasmexport unload
func unload(h int32) int32 {
	return call(-1, func() (int32, error) {
		if _, err := model(h); err != nil {
			return 0, err
		}
		delete(models, h)
		return 0, nil
	})
}

//go:wasmexport info_json
func infoJSON(h int32, p uint32, capacity int32) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		info := m.Info()
		js := info.JSON()
		if int64(capacity) >= int64(len(js)) {
			b, err := mem(p, int64(len(js)), "info_json")
			if err != nil {
				return 0, err
			}
			copy(b, js)
		}
		return int32(len(js)), nil
	})
}

//go:wasmexport input_size
func inputSize(h int32) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		return int32(m.InputSize()), nil
	})
}

//go:wasmexport classes
func classes(h int32) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		return int32(m.Classes()), nil
	})
}

//go:wasmexport input
func input(h int32, rgba uint32, w, ht int32, out uint32) int32 {
	return fromImage(h, rgba, w, ht, out, (*allcnn.Model).Input, "input out")
}

//go:wasmexport classify
func classify(h int32, rgba uint32, w, ht int32, out uint32) int32 {
	return fromImage(h, rgba, w, ht, out, (*allcnn.Model).Classify, "classify out")
}

// fromImage applies f to model h and the w×ht image at rgba, writing the
// result at out.
func fromImage(h int32, rgba uint32, w, ht int32, out uint32, f func(m *allcnn.Model, rgba []byte, w, h int) ([]float32, error), what string) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		img, err := pixels(rgba, w, ht)
		if err != nil {
			return 0, err
		}
		v, err := f(m, img, int(w), int(ht))
		if err != nil {
			return 0, err
		}
		return 0, writeFloats(out, v, what)
	})
}

//go:wasmexport logits
func logits(h int32, xp, out uint32) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		x, err := readFloats(xp, m.InputSize(), "logits x")
		if err != nil {
			return 0, err
		}
		y, err := m.Logits(x)
		if err != nil {
			return 0, err
		}
		return 0, writeFloats(out, y, "logits out")
	})
}

// request parses the options string at p.
func request(p uint32, n int32) (allcnn.SaliencyRequest, error) {
	if n == 0 {
		return allcnn.NewRequest(), nil
	}
	b, err := mem(p, int64(n), "opts")
	if err != nil {
		return allcnn.SaliencyRequest{}, err
	}
	return allcnn.ParseRequest(string(b))
}

// writeTarget writes the unit a map explains at p, unless p is 0.
func writeTarget(p uint32, s *allcnn.Saliency) error {
	if p == 0 {
		return nil
	}
	b, err := mem(p, 12, "target")
	if err != nil {
		return err
	}
	for i, v := range []int{s.Unit, s.At[0], s.At[1]} {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(v)))
	}
	return nil
}

//go:wasmexport saliency
func saliency(h int32, xp, opts uint32, optsLen int32, out, target uint32) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		req, err := request(opts, optsLen)
		if err != nil {
			return 0, err
		}
		x, err := readFloats(xp, m.InputSize(), "saliency x")
		if err != nil {
			return 0, err
		}
		s, err := m.Saliency(x, req)
		if err != nil {
			return 0, err
		}
		if err := writeFloats(out, s.Raw, "saliency out"); err != nil {
			return 0, err
		}
		return 0, writeTarget(target, s)
	})
}

//go:wasmexport saliency_rgba
func saliencyRGBA(h int32, rgba uint32, w, ht int32, opts uint32, optsLen int32, out, raw, target uint32) int32 {
	return call(-1, func() (int32, error) {
		m, err := model(h)
		if err != nil {
			return 0, err
		}
		req, err := request(opts, optsLen)
		if err != nil {
			return 0, err
		}
		img, err := pixels(rgba, w, ht)
		if err != nil {
			return 0, err
		}
		s, err := m.SaliencyRGBA(img, int(w), int(ht), req)
		if err != nil {
			return 0, err
		}
		b, err := mem(out, int64(len(s.Image)), "saliency_rgba out")
		if err != nil {
			return 0, err
		}
		copy(b, s.Image)
		if raw != 0 {
			if err := writeFloats(raw, s.Raw, "saliency_rgba raw"); err != nil {
				return 0, err
			}
		}
		return 0, writeTarget(target, s)
	})
}
