package kernel

import (
	"gonum.org/v1/gonum/blas"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// Options say how a net computes, never what: every choice gives the same
// numbers up to float32 rounding. They are fixed when the net is built
// (Options.Build); the zero value is the default.
type Options struct {
	// Threads is how many goroutines one layer's work is spread over;
	// below 1, GOMAXPROCS at build time. With a batch each goroutine takes
	// whole examples; with fewer examples than goroutines they split each
	// product's columns instead. The BLAS should then run one thread per
	// product (package native's Setup arranges that).
	Threads int
	// Conv chooses the convolution algorithm.
	Conv ConvAlgorithm
	// BLAS multiplies the matrices. Nil means blas32.Implementation() at
	// each product: gonum's pure Go, or what a program installed with
	// blas32.Use (package native's Setup installs OpenBLAS or AVX-512).
	BLAS blas.Float32
}

// ConvAlgorithm chooses how convolutions are computed.
type ConvAlgorithm int

const (
	// ConvAuto runs 3×3, stride-1 convolutions as Winograd's F(m×m, 3×3)
	// where that is measured to pay (RATIONALE.md), stride-1 convolutions
	// on small maps that Winograd does not take as one product per kernel
	// tap on shifted views of the input (the forward pass and the input
	// gradient), the rest as im2col and one matrix product.
	ConvAuto ConvAlgorithm = iota
	// ConvIm2col runs every convolution as im2col and a matrix product:
	// for comparisons, and as the reference the Winograd tests hold the
	// fast paths to (results differ by a few 1e-6, relative).
	ConvIm2col
)

func (a ConvAlgorithm) String() string {
	if a == ConvIm2col {
		return "im2col"
	}
	return "auto"
}

// engine makes the engine o describes.
func (o Options) engine() *engine.Engine {
	return engine.New(engine.Config{Threads: o.Threads, Winograd: o.Conv != ConvIm2col, Shift: o.Conv != ConvIm2col, BLAS: o.BLAS})
}

// defaultEngine is the engine of layers made by their constructors rather
// than by Build: the zero Options'. It is never changed.
var defaultEngine = Options{}.engine()

// Build makes the layers of a spec with zero weights, computing as o says.
// Dropout layers are seeded with seed 0; call Seed to choose.
func (o Options) Build(s Spec) (*Net, error) { return buildOn(s, o, o.engine()) }

// Build makes the layers of a spec with zero weights and the default
// Options.
func Build(s Spec) (*Net, error) { return Options{}.Build(s) }

// Options returns the options n was built with.
func (n *Net) Options() Options { return n.opts }

// build makes another net (a folded or switched form of n) that computes as
// n does.
func (n *Net) build(s Spec) (*Net, error) { return buildOn(s, n.opts, n.eng) }
