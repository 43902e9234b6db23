//go:build js

// Command js is allcnn for browsers and Node: built with
//
//	GOOS=js GOARCH=wasm go build -o allcnn.wasm ./wasm/js
//
// and run with Go's wasm_exec.js (GOROOT/lib/wasm), with the SIMD128
// kernels bound to its imports "allcnn_simd" (package wasm/simd;
// js/instance.js does both), it installs the global object globalThis.allcnn
// and waits for calls. The global exists as soon as go.run(instance) has
// been called (go.run runs main synchronously up to its wait; its promise
// settles only if the program exits, which it does not).
//
// # The global, version 1
//
// Every function returns a Promise, settled before the function returns
// (the work itself is synchronous and blocks the thread: call it from a
// Web Worker). A failure rejects the promise with an Error whose message
// says what was wrong ("allcnn: option colormap=\"jet\": …"); nothing a caller
// passes can crash the instance, as every call recovers Go panics (out of
// memory excepted, which aborts the Go runtime). A Go callback cannot throw
// into its JavaScript caller — syscall/js turns a thrown exception into a
// Go panic and has no way back — so a rejected promise is how errors reach
// the caller: `await` turns it into a thrown Error.
//
//	allcnn.abiVersion                    1
//	allcnn.simd                          true: matrix products run on the SIMD128
//	                                     kernels; false: on gonum's scalar Go
//	allcnn.load(bytes) → handle          bytes: Uint8Array or ArrayBuffer holding a
//	                                     weight file (copied); handle: a number > 0
//	allcnn.unload(handle) → undefined
//	allcnn.info(handle) → Info           a plain object:
//	    {name: string, input: [c, h, w], classes: string[], preprocess: "none" | "channel" | "gcn-zca",
//	     layers: [{name, type, channels, height, width}], switchedLayers: [same],
//	     meta: {string: string}}
//	    layers are the saliency targets; switchedLayers the same for switches: true
//	allcnn.input(handle, rgba, width, height) → Float32Array
//	                                     the prepared network input, c·h·w values
//	allcnn.logits(handle, x) → Float32Array
//	                                     x: Float32Array of c·h·w values (as input
//	                                     returns); one logit per class
//	allcnn.classify(handle, rgba, width, height) → Float32Array
//	                                     class probabilities (softmax), one per class
//	allcnn.saliency(handle, rgba, width, height, options?) →
//	    {rgba: Uint8ClampedArray, width, height, raw: Float32Array, unit, at: [y, x]}
//	                                     rgba: the map drawn at the input size
//	                                     (width = w, height = h of Info.input; opaque,
//	                                     ready for new ImageData(rgba, width, height));
//	                                     raw: the map itself, c·h·w values; unit, at:
//	                                     the class or channel explained and its
//	                                     position (resolved when options.unit is −1)
//	allcnn.saliencyOf(handle, x, options?) → {raw: Float32Array, unit, at: [y, x]}
//	                                     the same for a prepared input x
//	allcnn.parts(handle, rgba, width, height, options, first, count) →
//	    {maps: Float32Array, unit, at: [y, x]}
//	                                     for the methods that average the maps of
//	                                     many copies of the image (smoothgrad,
//	                                     smoothgrad2, vargrad: noisy copies;
//	                                     integrated: points of the path), the maps
//	                                     of copies first, …, first+count−1 of
//	                                     options.samples (or .steps), count·c·h·w
//	                                     values; a copy's map does not depend on
//	                                     the range it is computed in, so several
//	                                     instances can share one map's copies
//	                                     (Model.SaliencyCopies)
//	allcnn.combine(handle, rgba, width, height, options, maps) → as saliency
//	                                     the map of the same options from the maps
//	                                     of every copy (parts' maps of consecutive
//	                                     ranges from copy 0, concatenated in
//	                                     order): what saliency returns
//	                                     (Model.CombineSaliencyRGBA)
//
// rgba is a Uint8ClampedArray or Uint8Array of width·height RGBA pixels
// (an ImageData's data), row-major, alpha ignored; the image is cropped to
// the network's aspect ratio and resized (area averaging when shrinking,
// bilinear when enlarging). Float32Arrays are new copies in the platform's
// (little-endian) byte order.
//
// options is an object; absent, null or undefined fields take the defaults
// (the gradient of the top class, drawn in grey), unknown fields are
// errors:
//
//	method    "gradient" (default) | "deconvnet" | "guided" | "smoothgrad" |
//	          "smoothgrad2" | "vargrad" | "integrated" | "gradcam" |
//	          "guided-gradcam" | "occlusion"
//	rule      the rule the SmoothGrad family averages: "gradient" (default) |
//	          "deconvnet" | "guided"
//	samples, noise, seed   SmoothGrad's copies (16), σ as a fraction of the
//	          image's range (0.15) and random seed (0)
//	steps, baseline        integrated gradients' path points (32) and
//	          baseline: "zero" (default) | "blur" | "mean"
//	camlayer  Grad-CAM's layer; default: the highest convolution below the
//	          class layer whose map is larger than 1×1
//	window, stride         occlusion's patch side and step in pixels
//	          (default: an eighth of the input, half the window)
//	layer     a name from info.layers; "" (default): the classes
//	unit      class or channel; -1 (default): the strongest
//	at        [y, x] in the layer's map; default: where the unit is strongest
//	switches  true: the switched net of the paper's Figs. 4–5 (names from
//	          info.switchedLayers); default false
//	pool      "switches" (default) | "spread": max-pools send the signal
//	          back through their switches, or evenly over each window
//	reduce    "sum" (default) | "max" | "maxabs"   how channels collapse
//	sign      "all" (default) | "positive" | "negative" | "absolute"
//	clip      percentile of |v| at which outliers are clamped, 0 (default) to 100
//	colormap  "gray" (default) | "viridis" | "inferno" | "coolwarm" | "rgb"
//	overlay   0 (default) to 1: weight of the map blended over the input image
//
// Each value is converted with String() and parsed as allcnn.SaliencyRequest.Set
// describes (so at: [3, 4] arrives as "3,4").
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"syscall/js"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/wasm/simd"
)

var (
	models  = map[int]*allcnn.Model{}
	handles int // the last handle given
)

func main() {
	g := js.Global().Get("Object").New()
	g.Set("abiVersion", 1)
	g.Set("simd", simd.Use())
	export(g, "load", load)
	export(g, "unload", unload)
	export(g, "info", info)
	export(g, "input", input)
	export(g, "logits", logits)
	export(g, "classify", classify)
	export(g, "saliency", saliency)
	export(g, "saliencyOf", saliencyOf)
	export(g, "parts", parts)
	export(g, "combine", combine)
	js.Global().Set("allcnn", g)
	select {}
}

// export sets obj[name] to a JavaScript function that calls f and returns
// a settled Promise: resolved with f's result, or rejected with an Error
// for f's error or panic.
func export(obj js.Value, name string, f func(args []js.Value) (any, error)) {
	promise := js.Global().Get("Promise")
	obj.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) (result any) {
		defer func() {
			if p := recover(); p != nil {
				result = promise.Call("reject", jsError(fmt.Sprintf("allcnn.%s: internal error (please report): %v", name, p)))
			}
		}()
		v, err := f(args)
		if err != nil {
			return promise.Call("reject", jsError("allcnn."+name+": "+err.Error()))
		}
		return promise.Call("resolve", v)
	}))
}

func jsError(msg string) js.Value { return js.Global().Get("Error").New(msg) }

// arg returns args[i], or undefined.
func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// integer reads an integral number.
func integer(v js.Value, what string) (int, error) {
	if v.Type() != js.TypeNumber {
		return 0, fmt.Errorf("%s: want a number, got %s", what, v.Type())
	}
	f := v.Float()
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, fmt.Errorf("%s: want an integer, got %v", what, f)
	}
	return int(f), nil
}

func model(v js.Value) (*allcnn.Model, error) {
	_, m, err := handle(v)
	return m, err
}

// handle reads a handle and returns its model.
func handle(v js.Value) (int, *allcnn.Model, error) {
	h, err := integer(v, "handle")
	if err != nil {
		return 0, nil, err
	}
	m, ok := models[h]
	if !ok {
		return 0, nil, fmt.Errorf("no model with handle %d", h)
	}
	return h, m, nil
}

// bytes copies a Uint8Array, a Uint8ClampedArray or (if buffers) an
// ArrayBuffer.
func bytes(v js.Value, what string, buffers bool) ([]byte, error) {
	switch {
	case v.InstanceOf(js.Global().Get("Uint8Array")), v.InstanceOf(js.Global().Get("Uint8ClampedArray")):
	case buffers && v.InstanceOf(js.Global().Get("ArrayBuffer")):
		v = js.Global().Get("Uint8Array").New(v)
	case buffers:
		return nil, fmt.Errorf("%s: want a Uint8Array or an ArrayBuffer", what)
	default:
		return nil, fmt.Errorf("%s: want a Uint8ClampedArray or a Uint8Array", what)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// image reads the (rgba, width, height) arguments starting at args[i].
func image(args []js.Value, i int) ([]byte, int, int, error) {
	rgba, err := bytes(arg(args, i), "rgba", false)
	if err != nil {
		return nil, 0, 0, err
	}
	w, err := integer(arg(args, i+1), "width")
	if err != nil {
		return nil, 0, 0, err
	}
	h, err := integer(arg(args, i+2), "height")
	if err != nil {
		return nil, 0, 0, err
	}
	return rgba, w, h, nil
}

// floats copies a Float32Array.
func floats(v js.Value, what string) ([]float32, error) {
	if !v.InstanceOf(js.Global().Get("Float32Array")) {
		return nil, fmt.Errorf("%s: want a Float32Array", what)
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength")))
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x, nil
}

// float32Array returns a new Float32Array holding x.
func float32Array(x []float32) js.Value {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return js.Global().Get("Float32Array").New(u.Get("buffer"))
}

// request reads an options object.
func request(v js.Value) (allcnn.SaliencyRequest, error) {
	r := allcnn.NewRequest()
	if v.IsUndefined() || v.IsNull() {
		return r, nil
	}
	if v.Type() != js.TypeObject {
		return r, errors.New("options: want an object")
	}
	str := js.Global().Get("String")
	entries := js.Global().Get("Object").Call("entries", v)
	for i := range entries.Length() {
		k, val := entries.Index(i).Index(0).String(), entries.Index(i).Index(1)
		if val.IsUndefined() || val.IsNull() {
			continue
		}
		if err := r.Set(k, str.Invoke(val).String()); err != nil {
			return r, err
		}
	}
	return r, nil
}

// target is the unit a map explains, as fields of a result object.
func target(o js.Value, s *allcnn.Saliency) js.Value {
	o.Set("raw", float32Array(s.Raw))
	return explained(o, s)
}

// explained sets the fields of a result object that say which unit it
// explains.
func explained(o js.Value, s *allcnn.Saliency) js.Value {
	o.Set("unit", s.Unit)
	o.Set("at", js.ValueOf([]any{s.At[0], s.At[1]}))
	return o
}

func load(args []js.Value) (any, error) {
	b, err := bytes(arg(args, 0), "bytes", true)
	if err != nil {
		return nil, err
	}
	m, err := allcnn.Load(b)
	if err != nil {
		return nil, err
	}
	handles++
	models[handles] = m
	return handles, nil
}

func unload(args []js.Value) (any, error) {
	h, _, err := handle(arg(args, 0))
	if err != nil {
		return nil, err
	}
	delete(models, h)
	return js.Undefined(), nil
}

func info(args []js.Value) (any, error) {
	m, err := model(arg(args, 0))
	if err != nil {
		return nil, err
	}
	i := m.Info()
	return js.Global().Get("JSON").Call("parse", string(i.JSON())), nil
}

func input(args []js.Value) (any, error) { return fromImage(args, (*allcnn.Model).Input) }

func classify(args []js.Value) (any, error) { return fromImage(args, (*allcnn.Model).Classify) }

// fromImage applies f to the model and image of args (handle, image) and
// returns its result as a Float32Array.
func fromImage(args []js.Value, f func(m *allcnn.Model, rgba []byte, w, h int) ([]float32, error)) (any, error) {
	m, err := model(arg(args, 0))
	if err != nil {
		return nil, err
	}
	rgba, w, h, err := image(args, 1)
	if err != nil {
		return nil, err
	}
	v, err := f(m, rgba, w, h)
	if err != nil {
		return nil, err
	}
	return float32Array(v), nil
}

func logits(args []js.Value) (any, error) {
	m, err := model(arg(args, 0))
	if err != nil {
		return nil, err
	}
	x, err := floats(arg(args, 1), "x")
	if err != nil {
		return nil, err
	}
	y, err := m.Logits(x)
	if err != nil {
		return nil, err
	}
	return float32Array(y), nil
}

func saliency(args []js.Value) (any, error) {
	m, err := model(arg(args, 0))
	if err != nil {
		return nil, err
	}
	rgba, w, h, err := image(args, 1)
	if err != nil {
		return nil, err
	}
	req, err := request(arg(args, 4))
	if err != nil {
		return nil, err
	}
	s, err := m.SaliencyRGBA(rgba, w, h, req)
	if err != nil {
		return nil, err
	}
	return drawn(s), nil
}

// drawn is the result object of saliency and combine.
func drawn(s *allcnn.Saliency) js.Value {
	img := js.Global().Get("Uint8ClampedArray").New(len(s.Image))
	js.CopyBytesToJS(img, s.Image)
	o := js.Global().Get("Object").New()
	o.Set("rgba", img)
	o.Set("width", s.Width)
	o.Set("height", s.Height)
	return target(o, s)
}

func saliencyOf(args []js.Value) (any, error) {
	m, err := model(arg(args, 0))
	if err != nil {
		return nil, err
	}
	x, err := floats(arg(args, 1), "x")
	if err != nil {
		return nil, err
	}
	req, err := request(arg(args, 2))
	if err != nil {
		return nil, err
	}
	s, err := m.Saliency(x, req)
	if err != nil {
		return nil, err
	}
	return target(js.Global().Get("Object").New(), s), nil
}

// imageRequest reads the (handle, image, options) arguments of parts and
// combine.
func imageRequest(args []js.Value) (*allcnn.Model, []byte, int, int, allcnn.SaliencyRequest, error) {
	m, err := model(arg(args, 0))
	if err != nil {
		return nil, nil, 0, 0, allcnn.SaliencyRequest{}, err
	}
	rgba, w, h, err := image(args, 1)
	if err != nil {
		return nil, nil, 0, 0, allcnn.SaliencyRequest{}, err
	}
	req, err := request(arg(args, 4))
	return m, rgba, w, h, req, err
}

func parts(args []js.Value) (any, error) {
	m, rgba, w, h, req, err := imageRequest(args)
	if err != nil {
		return nil, err
	}
	first, err := integer(arg(args, 5), "first")
	if err != nil {
		return nil, err
	}
	count, err := integer(arg(args, 6), "count")
	if err != nil {
		return nil, err
	}
	x, err := m.Input(rgba, w, h)
	if err != nil {
		return nil, err
	}
	s, err := m.SaliencyCopies(x, req, first, count)
	if err != nil {
		return nil, err
	}
	o := js.Global().Get("Object").New()
	o.Set("maps", float32Array(s.Raw))
	return explained(o, s), nil
}

func combine(args []js.Value) (any, error) {
	m, rgba, w, h, req, err := imageRequest(args)
	if err != nil {
		return nil, err
	}
	maps, err := floats(arg(args, 5), "maps")
	if err != nil {
		return nil, err
	}
	s, err := m.CombineSaliencyRGBA(rgba, w, h, req, maps)
	if err != nil {
		return nil, err
	}
	return drawn(s), nil
}
