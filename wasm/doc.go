// Package wasm holds allcnn's WebAssembly builds and the suite that checks
// them against native Go:
//
//	wasm/api     the API both builds wrap (portable: kernel, render, format)
//	wasm/js      GOOS=js main package: the globalThis.allcnn object for browsers
//	wasm/wasip1  GOOS=wasip1 reactor (-buildmode=c-shared) for WASI hosts
//
// The conformance test (go test ./wasm) builds the wasip1 reactor with the
// test's own go command, runs it under wazero's compiler and interpreter,
// and compares its preprocessing, logits and saliency maps for every zoo
// architecture with the same computation done natively through wasm/api,
// printing the largest difference of each comparison.
package wasm
