// Package allcnn is the application layer: what the command-line tools,
// the GOOS=js module for browsers (wasm/js) and the GOOS=wasip1 reactor for
// WASI hosts (wasm/wasip1) all call. It loads a weight file, prepares
// images by the file's input contract, classifies them and computes and
// draws saliency maps (NOTES.md §6), so that the wrappers only move bytes,
// flags and errors across their boundary. The data path:
//
//	RGBA pixels ─ preprocess.Params.Input ─▶ net input ─ kernel.Net ─▶ logits, Classify
//	                                              └─ Net.Saliency (rule) ─▶ map ─ render.Map ─▶ RGBA
//
// The commands, which read image files and data sets, take the same path
// in batches: pixel images ─ Inputs ─▶ a batch of inputs ─ Probs ─▶
// probabilities (with flip test-time augmentation).
//
// It imports kernel, kernel/preprocess, kernel/render and format only —
// never dataset, trainer, native or cmd, which would drag image decoders,
// archive readers and cgo into the wasm binaries — and does not call
// encoding/json, whose reflective encoder the linker would then keep:
// Info.JSON encodes by hand.
//
// A Model is safe for concurrent use; calls on one model run one at a
// time. Net is the exception: its caller takes care of that.
package allcnn

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	"github.com/allcnn/allcnn/kernel/render"
)

// ErrRequest is wrapped by errors about a saliency request or one of its
// options.
var ErrRequest = errors.New("invalid request")

// Model is a loaded weight file: the network, its class names and its
// preprocessing.
type Model struct {
	file *format.File // without its tensors, which live in net

	mu       sync.Mutex // guards the nets, whose layers keep buffers
	net      *kernel.Net
	switched *kernel.Net // built by the first Switches request
}

// Load parses and validates a weight file (format.Unmarshal, which treats
// b as hostile) and builds its network. b is not retained.
func Load(b []byte) (*Model, error) {
	f, err := format.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	return fromFile(f)
}

// Open reads and validates the weight file at path (format.ReadFile, which
// treats it as hostile and whose errors name it) and builds its network.
func Open(path string) (*Model, error) {
	f, err := format.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := fromFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// fromFile builds the network of a decoded file and keeps the file
// without its tensors.
func fromFile(f *format.File) (*Model, error) {
	n, err := f.Net()
	if err != nil {
		return nil, err
	}
	f.Tensors = nil // the net holds the only copy of the weights
	// A model is an inference session: nothing of it changes the weights,
	// so its convolutions need not compare them at every pass.
	n.Freeze()
	return &Model{file: f, net: n}, nil
}

// File is the weight file the model was loaded from (architecture, class
// names, preprocessing, metadata) without its tensors, which the network
// holds. The caller must not modify it.
func (m *Model) File() *format.File { return m.file }

// Net is the model's network, for what the model does not offer: its
// weights, a forward pass to a layer, receptive fields. Calls on it bypass
// the model's lock, so a caller who uses it must not use the model from
// another goroutine meanwhile. The net is frozen (kernel.Net.Freeze): its
// Params, Tensors and Param thaw it, and the weights they return may then
// be changed.
func (m *Model) Net() *kernel.Net { return m.net }

// Warnings are what a caller should show once about the model, as
// Info.Warnings: a file older than the input contract, read as
// "resize".
func (m *Model) Warnings() []string {
	if m.file.Preprocess.Place != "" {
		return nil
	}
	in := m.file.Arch.Input
	return []string{fmt.Sprintf("the weight file has no preprocess.place (it predates the input contract): images are resized to the %d×%d input", in[1], in[2])}
}

// InputSize is the number of values of a prepared input, C·H·W.
func (m *Model) InputSize() int {
	in := m.net.Spec.Input
	return in[0] * in[1] * in[2]
}

// Classes is the number of classes, the length of Logits and Classify.
func (m *Model) Classes() int { return m.net.Classes() }

// Input turns an image of w×h RGBA pixels (4 bytes each, row-major, alpha
// ignored) into the network's input, C×H×W float32 (Info.Input), by the
// model file's input contract (preprocess.Params.Input): resampled to the
// source size, normalised, placed on the input. The model must take 1
// (luminance) or 3 (RGB) channels.
func (m *Model) Input(rgba []byte, w, h int) ([]float32, error) {
	if err := m.channels(); err != nil {
		return nil, err
	}
	x, err := m.file.Preprocess.Input(rgba, w, h, m.net.Spec.Input)
	if err != nil {
		return nil, fmt.Errorf("allcnn: %w", err)
	}
	return x, nil
}

// pixelsRGBA is the image as the input shows it, before normalisation
// (preprocess.Params.Pixels), in [0, 255]: what maps are drawn over.
func (m *Model) pixelsRGBA(rgba []byte, w, h int) ([]float32, error) {
	if err := m.channels(); err != nil {
		return nil, err
	}
	img, err := m.file.Preprocess.Pixels(rgba, w, h, m.net.Spec.Input)
	if err != nil {
		return nil, fmt.Errorf("allcnn: %w", err)
	}
	return img, nil
}

// channels checks that images can feed the model.
func (m *Model) channels() error {
	if in := m.net.Spec.Input; in[0] != 1 && in[0] != 3 {
		return fmt.Errorf("allcnn: model %s takes %d input channels; images give 1 or 3: %w", m.net.Spec.Name, in[0], preprocess.ErrImage)
	}
	return nil
}

// tensor wraps one prepared input as a batch of one, checking its length.
func (m *Model) tensor(x []float32) (*kernel.Tensor, error) {
	in := m.net.Spec.Input
	if len(x) != m.InputSize() {
		return nil, fmt.Errorf("allcnn: input has %d values, model %s takes %d×%d×%d = %d: %w", len(x), m.net.Spec.Name, in[0], in[1], in[2], m.InputSize(), kernel.ErrShape)
	}
	return &kernel.Tensor{Shape: []int{1, in[0], in[1], in[2]}, Data: x}, nil
}

// Logits runs the network in evaluation mode on a prepared input (C×H×W,
// as Input returns) and returns one value per class.
func (m *Model) Logits(x []float32) ([]float32, error) {
	t, err := m.tensor(x)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out, err := m.net.Forward(t, false)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), out.Data...), nil
}

// Classify returns the class probabilities (softmax of the logits) of an
// image of w×h RGBA pixels; see Input.
func (m *Model) Classify(rgba []byte, w, h int) ([]float32, error) {
	x, err := m.Input(rgba, w, h)
	if err != nil {
		return nil, err
	}
	t, err := m.tensor(x)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.probs(t)
}

// Saliency is a map computed by Model.Saliency or Model.SaliencyRGBA.
type Saliency struct {
	// Raw is the signal that reaches the input, C×H×W float32 (Info.Input).
	Raw []float32
	// Unit is the class, or the channel of the request's layer, that the
	// map explains: the request's Unit, or the one chosen for Unit −1.
	Unit int
	// At is the unit's position (y, x) in its layer's map: the request's
	// At, or the strongest position; (0, 0) for a class.
	At [2]int
	// Image is the map drawn by render.Map at the input size, Width×Height
	// RGBA pixels, opaque (SaliencyRGBA only; nil from Saliency).
	Image         []byte
	Width, Height int
}

// Saliency explains one unit of the network for a prepared input x
// (C×H×W, as Input returns): it runs the net in evaluation mode up to the
// request's layer, sends 1 from the chosen unit and 0 from every other
// activation of that layer, and propagates the signal back to the input by
// the request's method (paper Fig. 1). Max-pools pass the signal through the
// switches their forward pass recorded, or spread it evenly (Spread).
func (m *Model) Saliency(x []float32, req SaliencyRequest) (*Saliency, error) {
	return m.explain(x, req, func(n *kernel.Net, t *kernel.Tensor, target kernel.Target, method Method) (*kernel.Tensor, []kernel.Target, error) {
		return Explain(n, t, []kernel.Target{target}, method)
	})
}

// SaliencyCopies computes Saliency's map in shares, for the methods whose
// map averages the maps of many copies of the image (Method.Copies:
// smoothgrad, smoothgrad2 and vargrad, integrated): Raw holds the maps of
// copies first, …, first+count−1, one after another, each C×H×W. Several
// Models (in several workers) can compute consecutive ranges from copy 0;
// CombineSaliency (or CombineSaliencyRGBA) of their Raw, concatenated, is
// the Saliency of the whole request (to float rounding: a copy's last bits
// depend on the batch it runs in). Unit and At are resolved as Saliency
// resolves them: pass them on to the combining call.
func (m *Model) SaliencyCopies(x []float32, req SaliencyRequest, first, count int) (*Saliency, error) {
	return m.explain(x, req, func(n *kernel.Net, t *kernel.Tensor, target kernel.Target, method Method) (*kernel.Tensor, []kernel.Target, error) {
		return ExplainCopies(n, t, []kernel.Target{target}, method, first, count)
	})
}

// CombineSaliency returns Saliency's result for x and req from the maps of
// every copy that the request's method averages (SaliencyCopies' Raw of
// consecutive ranges from copy 0, concatenated). The unit and position are
// resolved as Saliency resolves them, without a forward pass when the
// request names both (as SaliencyCopies returned them).
func (m *Model) CombineSaliency(x []float32, req SaliencyRequest, maps []float32) (*Saliency, error) {
	return m.explain(x, req, func(n *kernel.Net, t *kernel.Tensor, target kernel.Target, method Method) (*kernel.Tensor, []kernel.Target, error) {
		if err := method.checkCopies(); err != nil {
			return nil, nil, err
		}
		if len(maps) != method.Copies()*len(t.Data) {
			return nil, nil, fmt.Errorf("allcnn: %d values for the maps of %d copies of %d: %w", len(maps), method.Copies(), len(t.Data), ErrRequest)
		}
		used, err := n.Resolve(t, []kernel.Target{target})
		if err != nil {
			return nil, nil, err
		}
		in := t.Shape[1:]
		out, err := ReduceCopies(t, &kernel.Tensor{Shape: []int{method.Copies(), in[0], in[1], in[2]}, Data: maps}, method)
		return out, used, err
	})
}

// explain checks req against the net it asks for and x, and returns what
// run computes for the request's target.
func (m *Model) explain(x []float32, req SaliencyRequest, run func(*kernel.Net, *kernel.Tensor, kernel.Target, Method) (*kernel.Tensor, []kernel.Target, error)) (*Saliency, error) {
	method, err := req.method()
	if err != nil {
		return nil, err
	}
	t, err := m.tensor(x)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.netFor(req.Switches)
	if err != nil {
		return nil, err
	}
	layer := len(n.Layers) - 1
	if req.Layer != "" {
		if layer, err = n.Unit(req.Layer); err != nil {
			return nil, fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
		}
	}
	sh := n.Shapes[layer]
	what, where := "class", "the output"
	if req.Layer != "" {
		what, where = req.Layer+" channel", req.Layer
	}
	if req.Unit < -1 || req.Unit >= sh[0] {
		return nil, fmt.Errorf("allcnn: %s %d outside [0, %d) (−1 for the strongest): %w", what, req.Unit, sh[0], ErrRequest)
	}
	if at := req.At; at != nil && (at[0] < 0 || at[0] >= sh[1] || at[1] < 0 || at[1] >= sh[2]) {
		return nil, fmt.Errorf("allcnn: position (%d,%d) outside the %d×%d map of %s: %w", at[0], at[1], sh[1], sh[2], where, ErrRequest)
	}

	target := kernel.Target{Layer: req.Layer, Channel: req.Unit, At: req.At}
	dx, used, err := run(n, t, target, method)
	if err != nil {
		return nil, err
	}
	s := &Saliency{Raw: dx.Data, Unit: used[0].Channel}
	if used[0].At != nil {
		s.At = *used[0].At
	}
	return s, nil
}

// SaliencyRGBA computes the map of Saliency for an image of w×h RGBA pixels
// (see Input) and draws it with render.Map and req.Render at the network's
// input size; an overlay blends it over the image as the input shows it
// (preprocess.Params.Pixels).
func (m *Model) SaliencyRGBA(rgba []byte, w, h int, req SaliencyRequest) (*Saliency, error) {
	x, err := m.Input(rgba, w, h)
	if err != nil {
		return nil, err
	}
	s, err := m.Saliency(x, req)
	if err != nil {
		return nil, err
	}
	return s, m.draw(s, rgba, w, h, req)
}

// CombineSaliencyRGBA is CombineSaliency for an image of w×h RGBA pixels,
// drawn as SaliencyRGBA draws: what SaliencyRGBA returns for the request.
func (m *Model) CombineSaliencyRGBA(rgba []byte, w, h int, req SaliencyRequest, maps []float32) (*Saliency, error) {
	x, err := m.Input(rgba, w, h)
	if err != nil {
		return nil, err
	}
	s, err := m.CombineSaliency(x, req, maps)
	if err != nil {
		return nil, err
	}
	return s, m.draw(s, rgba, w, h, req)
}

// draw sets s's Image as SaliencyRGBA draws it.
func (m *Model) draw(s *Saliency, rgba []byte, w, h int, req SaliencyRequest) error {
	in := m.net.Spec.Input
	var under image.Image
	if req.Render.Overlay > 0 {
		img, err := m.pixelsRGBA(rgba, w, h)
		if err != nil {
			return err
		}
		if under, err = render.Pixels(img, in[0], in[1], in[2]); err != nil {
			return fmt.Errorf("allcnn: %w", err)
		}
	}
	out, err := render.Map(s.Raw, in[0], in[1], in[2], req.Render, under)
	if err != nil {
		return fmt.Errorf("allcnn: %w", err)
	}
	s.Image, s.Width, s.Height = out.Pix, in[2], in[1]
	return nil
}

// netFor returns the plain net, or the switched net of Figs. 4–5 (built on
// first use). The caller holds m.mu.
func (m *Model) netFor(switches bool) (*kernel.Net, error) {
	if !switches {
		return m.net, nil
	}
	if m.switched == nil {
		s, err := m.net.WithSwitches()
		if err != nil {
			return nil, fmt.Errorf("allcnn: switched net: %w", err)
		}
		s.Freeze()
		m.switched = s
	}
	return m.switched, nil
}
