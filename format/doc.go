// Package format reads and writes allcnn weight files: one msgpack document
// holding a network's architecture, class names, input preprocessing,
// parameters and free-form metadata, so that a file alone rebuilds the net
// (natively or in the browser).
//
// # Layout, version 1
//
// The file is a msgpack array of four elements, the envelope:
//
//	[ "allcnn-weights",  str:  the magic
//	  1,                 uint: the format version
//	  payload,           bin:  the msgpack encoding of the payload map below
//	  crc ]              uint: CRC-32C (Castagnoli) of the payload bytes
//
// A reader checks the magic, then the version, before anything else, so a
// later version may change everything after them. Nothing may follow the
// envelope. The payload is a msgpack map with exactly these keys:
//
//	"arch":       map   kernel.Spec, keys as its msgpack tags:
//	                    "name" str, "input" [c, h, w] ints, "layers" array of maps
//	                    with "type" str and, where not zero, "name" str, "out",
//	                    "kernel", "stride", "pad" ints, "ceil" bool, "slope", "p" float32
//	"classes":    array of str, one per output of the net
//	"preprocess": map   "kind" str; where used: "mean", "std" arrays of float32,
//	                    "gcn_scale" float32, "zca_mean" and "zca" tensors
//	                    (shapes [D] and [D, D], without "name"); the input
//	                    contract (preprocess.PlaceResize): "place" str and,
//	                    for "canvas" and "crop", "size" [h, w] ints. A file
//	                    without "place" (older than the field) is "resize".
//	"tensors":    array of tensor maps, the net's parameters
//	"meta":       map of str to str
//
// A tensor is a map {"name": str, "shape": array of uint, "dtype": "f32" or
// "f16", "data": bin}; data holds the elements in row-major order as
// little-endian IEEE 754 binary32 or binary16. Keys may come in any order;
// unknown and repeated keys are errors. Numbers are msgpack ints (any width)
// and, for the float32 fields, msgpack float32.
//
// # Hostile files
//
// Unmarshal treats its input as hostile. It walks the msgpack structure
// itself and checks every length prefix against the bytes that remain and
// against the limits (MaxFileSize, MaxTensors, …) before allocating
// anything, so the memory it uses is bounded by a small multiple of the
// input's size. Every error it returns wraps one of the Err… sentinels of
// this package (or kernel.ErrSpec, preprocess.ErrParams), for errors.Is.
package format
