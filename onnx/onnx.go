package onnx

import (
	"errors"

	"github.com/allcnn/allcnn/format"
)

// Errors. Every error of Import about its input wraps one of them, or one
// of the format package's (format.ErrNotFinite, format.ErrClasses, …),
// kernel.ErrSpec or preprocess.ErrParams where the graph imports but its
// values do not make a valid weight file: errors.Is(err, onnx.ErrUnsupported).
var (
	// ErrMalformed: not a protocol buffer of an ONNX model, or a model that
	// breaks ONNX's own rules (a node reading a value nothing defines, a
	// tensor whose data does not fill its shape).
	ErrMalformed = errors.New("malformed ONNX model")
	// ErrUnsupported: a valid ONNX model that allcnn cannot represent (an
	// operator, attribute or graph shape outside the supported set).
	ErrUnsupported = errors.New("not supported")
	// ErrLimit: over one of the limits below.
	ErrLimit = errors.New("over a limit")
	// ErrExport: a weight file that has no ONNX equivalent (Export).
	ErrExport = errors.New("cannot export")
)

// Limits on what Import reads. A file over MaxModelSize is refused before it
// is parsed; the parse itself is bounded by maxAlloc (wire.go).
const (
	MaxModelSize = format.MaxFileSize // bytes in a model file
	MaxNodes     = 4096               // nodes in the graph
	MaxDepth     = 32                 // nesting of messages (subgraphs in attributes)
	// MaxPoolWeights bounds the weights an AveragePool becomes as a
	// convolution, channels²·k², beyond the input's own size (Import).
	MaxPoolWeights = 1 << 22
)

// Opset is the version of the default operator set Export writes: 13, the
// first with Softmax over one axis and the Dropout, Pad and Slice that take
// their parameters as inputs. Import reads opsets MinOpset to MaxOpset.
const (
	Opset    = 13
	MinOpset = 7
	MaxOpset = 22
)

// irVersion is the ONNX IR version of opset 13.
const irVersion = 7

// The names of the exported graph's input and output.
const (
	InputName  = "pixels"
	OutputName = "probs"
)

// Metadata keys Export writes and Import reads back.
const (
	metaClasses = "allcnn.classes" // the class names, one per line
	metaArch    = "allcnn.arch"    // the architecture's name
)
