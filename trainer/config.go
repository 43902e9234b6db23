package trainer

// A run's configuration: what it trains, on what data, with which recipe,
// and how the data's images reach the net's input.

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Config is everything a training run depends on. It is stored in every
// checkpoint, so that a resumed run is the same run.
//
// The data's images need not be the model's input size; the sizes choose
// how they reach the input (the channel counts must match):
//
//   - Equal: each image is the input, with flips and ±5 px translations in
//     training if Augment (Augment).
//   - Larger (ImageNet-style, NOTES.md §4; e.g. Resize 256 for a 224 input):
//     training takes a random window of the input's size from each image at
//     every step (RandomCrop), mirrored left–right with probability 1/2 if
//     Augment; validation takes the central window (CenterCrop).
//   - Smaller (Large All-CNN, NOTES.md §3; e.g. 32×32 CIFAR for a 126×126
//     input): validation places each preprocessed image in the centre of a
//     zero canvas of the input's size (CenterCanvas), and so does training
//     without Augment; with Augment training places it with DefaultCanvas:
//     flip, scale 0.8–1.2, rotation ±15°, a translation anywhere the image
//     stays whole, per-channel colour factors 0.8–1.2.
//
// In the last two modes preprocessing is fitted per channel on the whole
// training images (the same for any crop or placement) and applied before
// cropping or placing, so "auto" means channel and ZCA, whose matrix has
// the dimension of one whole image and so fits neither the crops nor the
// model file's input, is refused. An image larger in one dimension and
// smaller in the other is refused too.
type Config struct {
	Data        string      `msgpack:"data" json:"data"`                     // dataset spec, see Load
	ValPerClass int         `msgpack:"val" json:"val"`                       // images per class held out for validation
	PerClass    int         `msgpack:"per_class" json:"per_class,omitempty"` // if > 0, use only the first PerClass images of each class
	Spec        kernel.Spec `msgpack:"spec" json:"spec"`                     // the architecture; if it has no layers, Model is used
	Model       string      `msgpack:"model" json:"model"`                   // zoo model, with Classes (0: the data's) and Width
	Classes     int         `msgpack:"classes" json:"classes"`
	Width       float64     `msgpack:"width" json:"width"`
	Dropout     []float32   `msgpack:"dropout" json:"dropout,omitempty"` // if set: input, hidden dropout probabilities (see ScaleDropout)
	Init        string      `msgpack:"init" json:"init"`                 // kernel.Net.Init scheme
	Seed        uint64      `msgpack:"seed" json:"seed"`                 // seeds init, dropout, shuffling, augmentation
	Epochs      int         `msgpack:"epochs" json:"epochs"`             // epochs in all
	Batch       int         `msgpack:"batch" json:"batch"`               // images per step
	LR          float64     `msgpack:"lr" json:"lr"`                     // base learning rate γ; 0: the model's (ModelLR)
	Milestones  []int       `msgpack:"milestones" json:"milestones"`     // lr ×Gamma after these epochs
	Gamma       float64     `msgpack:"gamma" json:"gamma"`               // 0.1 in the paper
	Momentum    float64     `msgpack:"momentum" json:"momentum"`         // 0.9
	WeightDecay float64     `msgpack:"weight_decay" json:"weight_decay"` // 0.001
	Augment     bool        `msgpack:"augment" json:"augment"`           // flips and ±5 px translations, flipped crops, or Canvas (see above)
	Preprocess  string      `msgpack:"preprocess" json:"preprocess"`     // none, channel, zca, auto
	DType       string      `msgpack:"dtype" json:"dtype"`               // storage of the final weights: f32 or f16

	// Norm "batch" trains with batch normalisation after every convolution
	// but the class layer (kernel.WithBatchNorm); the model written at the
	// end has it folded into the convolutions (kernel.FoldBatchNorm), so it
	// is the plain architecture. "" or "none": no normalisation.
	Norm string `msgpack:"norm,omitempty" json:"norm,omitempty"`
	// LRSchedule is the schedule's kind: "step" (Milestones, Gamma; the
	// default) or "onecycle" (Warmup epochs up to LR, then down to 0).
	LRSchedule string  `msgpack:"lr_schedule,omitempty" json:"lr_schedule,omitempty"`
	Warmup     float64 `msgpack:"warmup,omitempty" json:"warmup,omitempty"`
	Nesterov   bool    `msgpack:"nesterov,omitempty" json:"nesterov,omitempty"`
	// LabelSmoothing is the ε of smoothed targets in the training loss
	// (validation loss is plain cross-entropy).
	LabelSmoothing float64 `msgpack:"label_smoothing,omitempty" json:"label_smoothing,omitempty"`
	// Cutout, when positive, blanks a Cutout×Cutout square of each
	// training input, centred anywhere in it (see Cutout), after the other
	// augmentation.
	Cutout int `msgpack:"cutout,omitempty" json:"cutout,omitempty"`
	// EMA, when positive, keeps an exponential moving average of the
	// weights (and of batch normalisation's running statistics) with this
	// decay per step, e.g. 0.999: validation reads the averaged net, and
	// model.msgpack is the average. 0: none.
	EMA float64 `msgpack:"ema,omitempty" json:"ema,omitempty"`

	// Resize, when positive, scales each image of folder data so that its
	// shorter side is Resize pixels and keeps the central square
	// (dataset.FolderOptions.Resize): with a smaller input, the crop mode above.
	Resize int `msgpack:"resize,omitempty" json:"resize,omitempty"`

	// Kernel is how the nets compute (goroutines per layer, BLAS, the
	// convolution algorithm; native.Setup returns them): not part of the
	// recipe, so neither saved nor compared. The zero value is the
	// kernel's default.
	Kernel kernel.Options `msgpack:"-" json:"-"`
}

// DefaultConfig is the paper's recipe for All-CNN-C on CIFAR-10 (NOTES.md
// §5), at the model's learning rate (ModelLR: 0.05 for All-CNN-C, the γ
// public reproductions settled on).
func DefaultConfig() Config {
	return Config{
		ValPerClass: 500, Model: "all-cnn-c", Width: 1, Init: "he", Seed: 1, Epochs: 350, Batch: 64,
		Milestones: []int{200, 250, 300}, Gamma: 0.1, Momentum: 0.9, WeightDecay: 0.001,
		Preprocess: "auto", DType: "f32",
	}
}

// SpecLR is the base learning rate of a run whose architecture is given as
// a Spec (an architecture file) rather than a zoo name, when Config.LR is
// 0: the CIFAR models' 0.05.
const SpecLR = 0.05

// ModelLR is the base learning rate that Config.LR 0 stands for: the zoo
// model's (kernel.DefaultLR; 0 for a name the zoo does not know), or SpecLR
// for an architecture given as Spec.
func (c *Config) ModelLR() float64 {
	if len(c.Spec.Layers) > 0 {
		return SpecLR
	}
	return kernel.DefaultLR(c.Model)
}

func (c *Config) check() error {
	if len(c.Spec.Layers) == 0 {
		if _, err := kernel.ZooSpec(c.Model, c.Classes, c.Width); err != nil {
			return err
		}
	}
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("trainer: %d epochs", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("trainer: batch %d", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("trainer: learning rate %v", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("trainer: momentum %v outside [0, 1)", c.Momentum)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("trainer: weight decay %v", c.WeightDecay)
	case c.ValPerClass < 0 || c.PerClass < 0:
		return fmt.Errorf("trainer: -val %d", c.ValPerClass)
	case c.Resize < 0:
		return fmt.Errorf("trainer: resize %d", c.Resize)
	case c.Resize > 0 && !strings.HasPrefix(c.Data, "folder:"):
		return fmt.Errorf("trainer: resize %d applies to folder: data, not %q", c.Resize, c.Data)
	case c.DType != string(format.F32) && c.DType != string(format.F16):
		return fmt.Errorf("trainer: dtype %q (want f32 or f16)", c.DType)
	case len(c.Dropout) != 0 && len(c.Dropout) != 2:
		return fmt.Errorf("trainer: dropout %v: want two probabilities, input and hidden", c.Dropout)
	case len(c.Dropout) == 2 && !(c.Dropout[0] >= 0 && c.Dropout[0] < 1 && c.Dropout[1] >= 0 && c.Dropout[1] < 1):
		return fmt.Errorf("trainer: dropout %v: probabilities must be in [0, 1)", c.Dropout)
	case c.Norm != "" && c.Norm != NormNone && c.Norm != NormBatch:
		return fmt.Errorf("trainer: norm %q (want none or batch)", c.Norm)
	case c.LRSchedule != "" && c.LRSchedule != StepSchedule && c.LRSchedule != OneCycleSchedule:
		return fmt.Errorf("trainer: lr schedule %q (want step or onecycle)", c.LRSchedule)
	case c.LRSchedule == OneCycleSchedule && !(c.Warmup >= 0 && c.Warmup < float64(c.Epochs)):
		return fmt.Errorf("trainer: warm-up of %g epochs in a run of %d", c.Warmup, c.Epochs)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1):
		return fmt.Errorf("trainer: label smoothing %v outside [0, 1)", c.LabelSmoothing)
	case !(c.EMA >= 0 && c.EMA < 1):
		return fmt.Errorf("trainer: EMA decay %v outside [0, 1)", c.EMA)
	case c.Cutout < 0:
		return fmt.Errorf("trainer: cutout %d: want a side in pixels, or 0 for none", c.Cutout)
	}
	if len(c.Spec.Layers) > 0 {
		_, err := c.Spec.Shapes()
		return err
	}
	return nil
}

// load reads the config's training set: dataset.Load, except that folder
// data is read with Resize.
func (c *Config) load() (*dataset.Dataset, error) {
	if path, ok := strings.CutPrefix(c.Data, "folder:"); ok && path != "" && c.Resize > 0 {
		return dataset.LoadFolder(path, dataset.FolderOptions{Resize: c.Resize})
	}
	return dataset.Load(c.Data)
}

// resolveSpec builds the zoo architecture for the data's classes when the
// config names a model, and applies the dropout override.
func (c *Config) resolveSpec(classes int) error {
	if len(c.Spec.Layers) == 0 {
		k := c.Classes
		if k == 0 {
			k = classes
		}
		s, err := kernel.ZooSpec(c.Model, k, c.Width)
		if err != nil {
			return err
		}
		c.Spec = *s
	}
	if len(c.Dropout) == 2 {
		s, err := ScaleDropout(c.Spec, c.Dropout[0], c.Dropout[1])
		if err != nil {
			return err
		}
		c.Spec, c.Dropout = s, nil // applied; the spec now says it
	}
	if c.Norm == NormBatch && !c.Spec.HasBatchNorm() {
		s, err := kernel.WithBatchNorm(c.Spec)
		if err != nil {
			return err
		}
		c.Spec = s
	}
	_, err := c.Spec.Shapes()
	return err
}

// ScaleDropout returns s with its dropout set from an input and a hidden
// probability. The input's dropout (a dropout first layer) becomes input.
// The other dropout layers, the hidden ones, are scaled together so that
// the largest becomes hidden: a model's ramp keeps its shape. The CIFAR
// models' hidden dropout is 0.5 everywhere, so each layer becomes hidden;
// the Large All-CNN's ramp 0.1, 0.1, 0.2, … 0.5, 0.5 (paper Table 5) with
// hidden 0.3 becomes 0.06, 0.06, 0.12, … 0.3, 0.3. Hidden layers that are
// all 0 all become hidden. A non-zero probability for dropout the
// architecture does not have (the Large All-CNN has none on its input) is
// an error, since it would change nothing.
func ScaleDropout(s kernel.Spec, input, hidden float32) (kernel.Spec, error) {
	s.Layers = slices.Clone(s.Layers)
	var top float32 // the largest hidden probability
	hasInput, hasHidden := false, false
	for i, l := range s.Layers {
		switch {
		case l.Type != kernel.TypeDropout:
		case i == 0:
			hasInput = true
		default:
			hasHidden = true
			top = max(top, l.P)
		}
	}
	if !hasInput && input != 0 {
		return s, fmt.Errorf("trainer: dropout %g,%g: %s has no dropout on its input; give 0 as the input probability", input, hidden, s.Name)
	}
	if !hasHidden && hidden != 0 {
		return s, fmt.Errorf("trainer: dropout %g,%g: %s has no hidden dropout layer; give 0 as the hidden probability", input, hidden, s.Name)
	}
	for i := range s.Layers {
		l := &s.Layers[i]
		switch {
		case l.Type != kernel.TypeDropout:
		case i == 0:
			l.P = input
		case top == 0 || l.P == top:
			l.P = hidden
		default:
			l.P = float32(float64(l.P) * float64(hidden) / float64(top))
		}
	}
	return s, nil
}

// Norm settings.
const (
	NormNone  = "none"
	NormBatch = "batch"
)

// schedule is the run's learning-rate schedule.
func (c *Config) schedule() Schedule {
	return Schedule{Kind: c.LRSchedule, Base: c.LR, Milestones: c.Milestones, Gamma: c.Gamma, Warmup: c.Warmup, Epochs: c.Epochs}
}

// inputMode is how the data's images reach the network's input; see Config.
type inputMode int

const (
	sameSize inputMode = iota
	cropMode
	canvasMode
)

// inputMode decides the mode for c×h×w images and the network input in, and
// checks the settings that depend on it.
func (c *Config) inputMode(ch, h, w int, in [3]int) (inputMode, error) {
	if ch != in[0] {
		return 0, fmt.Errorf("trainer: %s has %d×%d×%d images, the model takes %d×%d×%d: the channels differ", c.Data, ch, h, w, in[0], in[1], in[2])
	}
	var m inputMode
	var how string
	switch {
	case h == in[1] && w == in[2]:
		return sameSize, nil
	case h >= in[1] && w >= in[2]:
		m, how = cropMode, "cropped to"
	case h <= in[1] && w <= in[2]:
		m, how = canvasMode, "placed on a canvas of"
	default:
		return 0, fmt.Errorf("trainer: %s has %d×%d images, the model takes %d×%d: an image larger in one dimension and smaller in the other can be neither cropped nor placed on a canvas", c.Data, h, w, in[1], in[2])
	}
	if c.Resize > 0 && m != cropMode {
		return 0, fmt.Errorf("trainer: resize %d is smaller than the model's %d×%d input; crops need a resize of at least %d", c.Resize, in[1], in[2], max(in[1], in[2]))
	}
	if c.Preprocess == "zca" || c.Preprocess == preprocess.GCNZCA {
		return 0, fmt.Errorf("trainer: %s has %d×%d images %s the model's %d×%d input, but ZCA whitens whole images of one size (%d dimensions), which fits neither the network input nor the model file; use -preprocess channel (or auto)", c.Data, h, w, how, in[1], in[2], ch*h*w)
	}
	return m, nil
}

// inputShape is the network's input, known before the data's classes.
func (c *Config) inputShape() ([3]int, error) {
	if len(c.Spec.Layers) > 0 {
		return c.Spec.Input, nil
	}
	s, err := kernel.ZooSpec(c.Model, c.Classes, c.Width)
	if err != nil {
		return [3]int{}, err
	}
	return s.Input, nil
}

// Recipe describes the optimisation settings in a line.
func (c *Config) Recipe() string {
	sched := fmt.Sprintf("×%g after %v", c.Gamma, c.Milestones)
	if c.LRSchedule == OneCycleSchedule {
		sched = fmt.Sprintf("one-cycle, %g epochs of warm-up", c.Warmup)
	}
	s := fmt.Sprintf("SGD lr %g, momentum %g", c.LR, c.Momentum)
	if c.Nesterov {
		s += " (Nesterov)"
	}
	s += fmt.Sprintf(", weight decay %g, batch %d, epochs %d, schedule %s, init %s, seed %d, augment %v", c.WeightDecay, c.Batch, c.Epochs, sched, c.Init, c.Seed, c.Augment)
	if c.Norm == NormBatch {
		s += ", batch norm (folded)"
	}
	if c.LabelSmoothing > 0 {
		s += fmt.Sprintf(", label smoothing %g", c.LabelSmoothing)
	}
	if c.Cutout > 0 {
		s += fmt.Sprintf(", cutout %d", c.Cutout)
	}
	if c.EMA > 0 {
		s += fmt.Sprintf(", weights averaged (EMA %g)", c.EMA)
	}
	return s
}
