// Package wasm holds allcnn's WebAssembly builds and the suite that checks
// them against native Go:
//
//	allcnn       (the repository's root package) the application layer both
//	             builds wrap, as the commands do (portable: kernel, render, format)
//	wasm/js      GOOS=js main package: the globalThis.allcnn object for browsers
//	wasm/wasip1  GOOS=wasip1 reactor (-buildmode=c-shared) for WASI hosts
//	wasm/simd    SIMD128 matrix-product kernels (simd128.wat) that both builds
//	             call in their own memory, when the host binds them
//
// The conformance test (go test ./wasm) builds the wasip1 reactor with the
// test's own go command, runs it under wazero's compiler and interpreter,
// each with the SIMD128 kernels bound and without them, and compares its
// preprocessing, logits and saliency maps for every zoo architecture with
// the same computation done natively through package allcnn, printing the largest
// difference of each comparison.
package wasm
