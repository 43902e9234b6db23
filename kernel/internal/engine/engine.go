// Package engine is the machinery beneath package kernel's layers: how a
// layer's arithmetic is spread over goroutines, the matrix products (through
// a gonum blas.Float32), im2col and its phase planes, Winograd's F(m×m, 3×3),
// and the AVX2 loops that Go does not vectorise. Package kernel says what a
// layer computes; this package says how fast.
//
// An Engine is an immutable value made once, when a net is built (kernel's
// Options); nothing here is configured through package state. The only
// package-level values are the CPU's features, read once at start-up.
package engine

import (
	"fmt"
	"runtime"

	"gonum.org/v1/gonum/blas"
)

// Config chooses an Engine. The zero value is the default but for Winograd,
// which package kernel turns on unless told otherwise.
type Config struct {
	// Threads is how many goroutines one layer's work is spread over;
	// below 1, GOMAXPROCS when the engine is made.
	Threads int
	// Winograd lets 3×3, stride-1 convolutions use F(m×m, 3×3) where it
	// pays (WinogradPays); false leaves every convolution to im2col + GEMM.
	Winograd bool
	// Shift lets stride-1 convolutions on small maps multiply shifted views
	// of their input (Shift) where ShiftPays and Winograd does not;
	// false leaves them to im2col + GEMM.
	Shift bool
	// BLAS multiplies the matrices; nil means blas32.Implementation() at
	// each product (gonum's pure Go unless a program installed another, as
	// package native does).
	BLAS blas.Float32

	// The rest are for tests, which set them to reach every path; zero
	// keeps the measured defaults.

	// ChunkFloats bounds one goroutine's lowered input (im2col columns or
	// Winograd tiles) in floats; default 4<<20 (16 MiB).
	ChunkFloats int
	// MinTiles is the fewest tiles a Winograd group of examples aims for,
	// the goroutines' groups together (each goroutine's group aims for
	// MinTiles/Threads): the tiles are the columns of the t² products.
	// Default 64, so that on All-CNN-C at batch 64 each of two goroutines
	// multiplies 32 columns on the 16×16 maps (one full panel of the
	// AVX-512 Sgemm) and one example's 64 on the 32×32 map, and a group's
	// transformed tiles stay near the core (conv5's V is 0.9 MB). Against
	// 512, the default when OpenBLAS packed every product (it made those
	// products longer, for 45 MiB more scratch), with pairs of batch-64
	// passes on one net alternating the two (150 pairs, AVX-512 host, 2
	// goroutines): inference −10% with the AVX-512 Sgemm (faster in 92% of
	// the pairs; 128 −7%, 48 −8%, 32 −1.5%), −6.5% with the AVX2 one, −2.9%
	// with OpenBLAS; a training step −6.4% (60 pairs).
	MinTiles int
	// NoAsm keeps every loop in Go, as on a CPU without AVX2.
	NoAsm bool
	// NoFused has F(4×4) apply its transforms as matrix products instead
	// of the fused copy-and-transform loops.
	NoFused bool
}

// Engine runs the arithmetic of layers as its Config says. Its methods may
// be called from any goroutine; the work buffers belong to the callers.
type Engine struct {
	threads     int
	winograd    bool
	shift       bool
	blas        blas.Float32
	chunkFloats int
	minTiles    int

	// What this CPU and the Config allow (see the *_amd64.go files).
	rectifyAsm, affineAsm, phaseAsm, winogradAsm bool
	winograd512                                  bool // the 16-tile transforms
	fused                                        bool
}

// New makes an engine of c.
func New(c Config) *Engine {
	e := &Engine{threads: c.Threads, winograd: c.Winograd, shift: c.Shift, blas: c.BLAS,
		chunkFloats: c.ChunkFloats, minTiles: c.MinTiles}
	if e.threads < 1 {
		e.threads = runtime.GOMAXPROCS(0)
	}
	if e.chunkFloats < 1 {
		e.chunkFloats = 4 << 20
	}
	if e.minTiles < 1 {
		e.minTiles = 64
	}
	if !c.NoAsm {
		e.rectifyAsm, e.affineAsm, e.phaseAsm, e.winogradAsm = hasAVX2, hasAVX2 && hasFMA, hasAVX2, hasAVX2 && hasFMA
		e.winograd512 = e.winogradAsm && hasAVX512
	}
	// F(4×4) fuses its transforms where the assembly runs them: the Go
	// versions are slower than the BLAS's transforms (winograd_fused.go).
	e.fused = e.winogradAsm && !c.NoFused
	return e
}

// Threads is the goroutine count of one layer's work.
func (e *Engine) Threads() int { return e.threads }

// Winograd reports whether Winograd may run where it pays.
func (e *Engine) Winograd() bool { return e.winograd }

// Shift reports whether stride-1 convolutions may use Shift.
func (e *Engine) Shift() bool { return e.shift }

// ChunkFloats bounds one goroutine's lowered input, in floats.
func (e *Engine) ChunkFloats() int { return e.chunkFloats }

// String describes the engine in a line, for logs and benchmarks.
func (e *Engine) String() string {
	conv := "im2col"
	if e.winograd {
		conv = "im2col+winograd"
	}
	return fmt.Sprintf("%d threads, %s, avx2 loops %v", e.threads, conv, e.rectifyAsm)
}

// Maps is a batch of feature maps in NCHW order: N examples of C planes of
// H×W values, one after another in Data.
type Maps struct {
	Data       []float32
	N, C, H, W int
}

// Example returns example i's C×H×W values.
func (m Maps) Example(i int) []float32 {
	n := m.C * m.H * m.W
	return m.Data[i*n : (i+1)*n]
}

func (m Maps) String() string { return fmt.Sprintf("[%d %d %d %d]", m.N, m.C, m.H, m.W) }

// Zero sets every element of s to 0.
func Zero(s []float32) {
	clear(s)
}
