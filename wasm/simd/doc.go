// Package simd runs the matrix products of allcnn's WebAssembly builds on
// SIMD128 micro-kernels: a small hand-written WebAssembly module
// (simd128.wat, assembled to simd128.wasm) that imports the Go instance's own
// linear memory and computes on Go slices in place. Go (≤ 1.26) emits only
// scalar wasm; with the kernels, Chromium classifies an image with
// All-CNN-C some 17 times faster (RATIONALE.md, "Why hand-written
// WebAssembly text for the browser's matrix products?").
//
// Use installs the kernels' Sgemm behind gonum's blas32 seam, through which
// package kernel does all of its convolution arithmetic, when the host
// provides them; otherwise gonum's pure-Go Sgemm stays in place.
//
// # Host interface
//
// A Go wasm program that imports this package (GOOS=js or wasip1) imports
// these functions from the module "allcnn_simd" (i32 unless stated):
//
//	sgemm_work() → bytes       scratch sgemm needs; 0: no kernels here,
//	                           sgemm is never called
//	sgemm(ta, tb, m, n, k, alpha f32, a, lda, b, ldb, beta f32, c, ldc, work)
//	                           as simd128.wat's export of the same name
//
// The host satisfies them with the exports of simd128.wasm instantiated with
// the Go instance's memory as its import ("go", "memory"). The instances
// depend on each other (Go imports the kernels; the kernels import Go's
// memory), so the host first gives Go functions that forward to a kernel
// instance bound later, instantiates Go, then the kernels with Go's memory,
// then binds them, all before Go's runtime starts (go.run for GOOS=js,
// _initialize for a wasip1 reactor). js/instance.js does this in browsers;
// the conformance test of package wasm does it under wazero. A host without
// SIMD128 (WebAssembly.validate of simd128.wasm fails) or one that wants the
// scalar path answers sgemm_work with 0.
package simd
