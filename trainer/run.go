package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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

	// Resize, when positive, scales each image of folder data so that its
	// shorter side is Resize pixels and keeps the central square
	// (FolderOptions.Resize): with a smaller input, the crop mode above.
	Resize int `msgpack:"resize,omitempty" json:"resize,omitempty"`
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
	}
	if len(c.Spec.Layers) > 0 {
		_, err := c.Spec.Shapes()
		return err
	}
	return nil
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

// EpochMetrics is one line of metrics.jsonl.
type EpochMetrics struct {
	Epoch     int     `msgpack:"epoch" json:"epoch"`
	TrainLoss float64 `msgpack:"train_loss" json:"train_loss"`
	TrainAcc  float64 `msgpack:"train_acc" json:"train_acc"`
	ValLoss   float64 `msgpack:"val_loss" json:"val_loss"`
	ValAcc    float64 `msgpack:"val_acc" json:"val_acc"`
	LR        float64 `msgpack:"lr" json:"lr"`
	ImgPerSec float64 `msgpack:"img_s" json:"img_s"`
	Seconds   float64 `msgpack:"seconds" json:"seconds"`
	// NoVal is set when the run holds no validation images (-val 0):
	// ValLoss and ValAcc are then 0 and mean nothing, and neither the JSON
	// line, the printed summary nor the curves show them.
	NoVal bool `msgpack:"no_val,omitempty" json:"-"`
}

// MarshalJSON writes m as one JSON object, without val_loss and val_acc
// when the run has no validation images. A NaN or infinite value is an
// error, as in encoding/json.
func (m EpochMetrics) MarshalJSON() ([]byte, error) {
	line := struct {
		Epoch     int      `json:"epoch"`
		TrainLoss float64  `json:"train_loss"`
		TrainAcc  float64  `json:"train_acc"`
		ValLoss   *float64 `json:"val_loss,omitempty"`
		ValAcc    *float64 `json:"val_acc,omitempty"`
		LR        float64  `json:"lr"`
		ImgPerSec float64  `json:"img_s"`
		Seconds   float64  `json:"seconds"`
	}{Epoch: m.Epoch, TrainLoss: m.TrainLoss, TrainAcc: m.TrainAcc, LR: m.LR, ImgPerSec: m.ImgPerSec, Seconds: m.Seconds}
	if !m.NoVal {
		line.ValLoss, line.ValAcc = &m.ValLoss, &m.ValAcc
	}
	return json.Marshal(line)
}

// ErrDiverged reports a NaN or infinite loss.
var ErrDiverged = errors.New("trainer: loss diverged")

// Run is a training run in a folder: its data, net, optimizer and random
// streams, and the history of its epochs.
type Run struct {
	Cfg     Config
	Dir     string
	Net     *kernel.Net
	Classes []string
	Prep    preprocess.Params
	History []EpochMetrics

	opt              SGD
	shuffle, augment *rand.PCG
	train, val       *Dataset  // raw pixels
	xTrain, xVal     []float32 // preprocessed images, at the data's size
	mode             inputMode // how they reach the network's input
	log              io.Writer
}

// Files of a run folder.
const (
	CheckpointFile = "checkpoint.msgpack"
	MetricsFile    = "metrics.jsonl"
	CurvesFile     = "curves.png"
	ModelFile      = "model.msgpack"
)

// Start begins a new run in dir (created if needed): it loads and splits
// the data, fits the preprocessing, and initializes the net. log receives
// what a user should know (may be nil).
func Start(cfg Config, dir string, log io.Writer) (*Run, error) {
	if log == nil {
		log = io.Discard
	}
	if cfg.LR == 0 {
		cfg.LR = cfg.ModelLR()
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trainer: output folder: %w", err)
	}
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err == nil {
		return nil, fmt.Errorf("trainer: %s already holds a run; resume it with -resume %s, or choose another -out", dir, dir)
	}
	r := &Run{Cfg: cfg, Dir: dir, log: log}
	if err := r.loadData(nil); err != nil {
		return nil, err
	}
	cfg = r.Cfg // with the architecture resolved
	net, err := kernel.Build(cfg.Spec)
	if err != nil {
		return nil, err
	}
	if err := net.Init(cfg.Init, cfg.Seed); err != nil {
		return nil, err
	}
	net.Seed(cfg.Seed)
	r.Net = net
	r.opt = SGD{Momentum: float32(cfg.Momentum), WeightDecay: float32(cfg.WeightDecay), Nesterov: cfg.Nesterov}
	r.shuffle = rand.NewPCG(cfg.Seed, 1)
	r.augment = rand.NewPCG(cfg.Seed, 2)
	return r, nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-test*")
	if err != nil {
		return fmt.Errorf("trainer: output folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// loadData loads the dataset, splits off validation, fits the preprocessing
// unless prep is given (a resumed run keeps its fit), and preprocesses every
// image once.
func (r *Run) loadData(prep *preprocess.Params) error {
	t0 := time.Now()
	if r.Cfg.Resize > 0 { // fail before a long load
		in, err := r.Cfg.inputShape()
		if err != nil {
			return err
		}
		if _, err := r.Cfg.inputMode(in[0], r.Cfg.Resize, r.Cfg.Resize, in); err != nil {
			return err
		}
	}
	all, err := r.Cfg.load()
	if err != nil {
		return err
	}
	if r.Cfg.PerClass > 0 {
		all = all.Subset(r.Cfg.PerClass)
	}
	if err := r.Cfg.resolveSpec(len(all.Classes)); err != nil {
		return err
	}
	in := r.Cfg.Spec.Input
	if r.mode, err = r.Cfg.inputMode(all.C, all.H, all.W, in); err != nil {
		return err
	}
	if k := r.Cfg.Spec.Classes(); k != len(all.Classes) {
		return fmt.Errorf("trainer: %s has %d classes, the model has %d outputs", r.Cfg.Data, len(all.Classes), k)
	}
	r.Classes = all.Classes
	r.train, r.val = all, nil
	if r.Cfg.ValPerClass > 0 {
		r.train, r.val = all.Split(r.Cfg.ValPerClass)
	}
	if r.train.Len() == 0 {
		return fmt.Errorf("trainer: %s: no training images left after holding out %d per class", r.Cfg.Data, r.Cfg.ValPerClass)
	}
	fmt.Fprintf(r.log, "data: %s: %d training and %d validation images of %d classes (%.1fs)\n",
		r.Cfg.Data, r.train.Len(), r.valLen(), len(r.Classes), time.Since(t0).Seconds())
	switch r.mode {
	case cropMode:
		fmt.Fprintf(r.log, "input: random %d×%d crops of the %d×%d images in training (flipped if augmenting), the centre crop in validation\n", in[1], in[2], all.H, all.W)
	case canvasMode:
		aug := "placed in the centre"
		if r.Cfg.Augment {
			c := DefaultCanvas
			aug = fmt.Sprintf("placed with flips, scale %g–%g, rotation ±%g°, translation within the margin, colour ×%g–%g", c.MinScale, c.MaxScale, c.MaxRotate, 1-c.Jitter, 1+c.Jitter)
		}
		fmt.Fprintf(r.log, "input: the %d×%d images on a %d×%d zero canvas, %s in training, centred in validation\n", all.H, all.W, in[1], in[2], aug)
	}
	if prep != nil {
		r.Prep = *prep
	} else {
		t0 = time.Now()
		kind := r.Cfg.Preprocess
		if r.mode != sameSize && kind == "auto" {
			kind = preprocess.Channel
			fmt.Fprintf(r.log, "preprocess auto: per-channel normalization (the images are cropped or placed, ZCA would not fit)\n")
		}
		if r.Prep, err = ChoosePreprocess(kind, r.train, r.log); err != nil {
			return err
		}
		fmt.Fprintf(r.log, "preprocess: %s fitted on the training split (%.1fs)\n", r.Prep.Kind, time.Since(t0).Seconds())
	}
	// The input contract the model file carries (preprocess.PlaceResize):
	// validation's placement, which every consumer of the file repeats.
	r.Prep.Place, r.Prep.Size = preprocess.PlaceResize, [2]int{}
	switch r.mode {
	case cropMode:
		r.Prep.Place, r.Prep.Size = preprocess.PlaceCrop, [2]int{all.H, all.W}
	case canvasMode:
		r.Prep.Place, r.Prep.Size = preprocess.PlaceCanvas, [2]int{all.H, all.W}
	}
	if err := r.Prep.Validate(in[0], in[1], in[2]); err != nil {
		return err
	}
	r.xTrain = prepare(&r.Prep, r.train)
	if r.val != nil {
		r.xVal = prepare(&r.Prep, r.val)
	}
	return nil
}

func (r *Run) valLen() int {
	if r.val == nil {
		return 0
	}
	return r.val.Len()
}

// prepare preprocesses a whole dataset, in chunks.
func prepare(p *preprocess.Params, d *Dataset) []float32 {
	dim := d.C * d.H * d.W
	out := make([]float32, d.Len()*dim)
	const chunk = 256
	idx := make([]int, 0, chunk)
	for i := 0; i < d.Len(); i += chunk {
		idx = idx[:0]
		for j := i; j < min(i+chunk, d.Len()); j++ {
			idx = append(idx, j)
		}
		ApplyBatch(p, d, idx, out[i*dim:])
	}
	return out
}

// Progress receives what happens during training. One that can fail (a
// Printer writing JSON lines) may also have a method Err() error, which
// Train calls after each Epoch: an error stops the run.
type Progress interface {
	// Step is called after each step of an epoch.
	Step(epoch, done, total int, loss, acc float64)
	// Epoch is called after each epoch, once its checkpoint is written.
	Epoch(m EpochMetrics)
}

// Epoch is the number of epochs completed.
func (r *Run) Epoch() int { return len(r.History) }

// Train runs epochs until Cfg.Epochs are done or ctx is cancelled, writing
// a checkpoint, metrics.jsonl and curves.png after each one, and the final
// model.msgpack at the end. A NaN or infinite loss, training or validation,
// or weights that are no longer finite stop it with ErrDiverged before the
// epoch is saved, so the checkpoint on disk stays the last good one. A
// failed write stops it too, with the path and the reason, and so does a
// Progress whose Err (if it has that method) reports one after an epoch.
func (r *Run) Train(ctx context.Context, p Progress) error {
	for r.Epoch() < r.Cfg.Epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := r.trainEpoch(ctx, p)
		if err != nil {
			return err
		}
		r.History = append(r.History, m)
		if err := r.save(); err != nil {
			return err
		}
		if p != nil {
			p.Epoch(m)
			if e, ok := p.(interface{ Err() error }); ok && e.Err() != nil {
				return fmt.Errorf("trainer: progress after epoch %d: %w", m.Epoch, e.Err())
			}
		}
	}
	return r.WriteModel(filepath.Join(r.Dir, ModelFile))
}

// diverged is the ErrDiverged error for what went wrong, with where the
// last good checkpoint is.
func (r *Run) diverged(what string, args ...any) error {
	kept := fmt.Sprintf("the last good checkpoint is epoch %d in %s", r.Epoch(), r.Dir)
	if r.Epoch() == 0 {
		kept = "no epoch was saved"
	}
	return fmt.Errorf("%w: %s; %s — try a smaller -lr", ErrDiverged, fmt.Sprintf(what, args...), kept)
}

// firstNonFinite returns the name of the first tensor holding a NaN or an
// infinity, and that value; "" if every value is finite.
func firstNonFinite(tensors []*kernel.Param) (string, float32) {
	for _, p := range tensors {
		for _, v := range p.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return p.Name, v
			}
		}
	}
	return "", 0
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (r *Run) trainEpoch(ctx context.Context, p Progress) (EpochMetrics, error) {
	epoch := r.Epoch() + 1
	sched := r.Cfg.schedule()
	var lr float64 // the rate of the current step
	t0 := time.Now()
	n, in := r.train.Len(), r.Cfg.Spec.Input
	dim := r.train.C * r.train.H * r.train.W // of a stored image
	classes := r.Net.Classes()
	order := rand.New(r.shuffle).Perm(n)
	aug := Augment{Flip: true, MaxShift: 5}
	augRNG := rand.New(r.augment)
	params := r.Net.Params()
	steps := (n + r.Cfg.Batch - 1) / r.Cfg.Batch
	var lossSum float64
	var correct, seen int
	// The batch, its labels and the loss signal are reused from step to
	// step (every element is rewritten); only a short last batch reallocates.
	var x, dl *kernel.Tensor
	var labels []int
	for start := 0; start < n; start += r.Cfg.Batch {
		if err := ctx.Err(); err != nil {
			return EpochMetrics{}, err
		}
		idx := order[start:min(start+r.Cfg.Batch, n)]
		b := len(idx)
		if x == nil || x.N() != b {
			x, labels = kernel.NewTensor(b, in[0], in[1], in[2]), make([]int, b)
		}
		for j, i := range idx {
			src := r.xTrain[i*dim : (i+1)*dim]
			switch {
			case r.mode == cropMode:
				randomCrop(augRNG, src, x.Example(j), in[0], r.train.H, r.train.W, in[1], in[2])
				if r.Cfg.Augment && augRNG.IntN(2) == 1 {
					flipInPlace(x.Example(j), in[0], in[1], in[2])
				}
			case r.mode == canvasMode && r.Cfg.Augment:
				DefaultCanvas.Apply(augRNG, src, x.Example(j), in[0], r.train.H, r.train.W, in[1], in[2])
			case r.mode == canvasMode:
				CenterCanvas(src, x.Example(j), in[0], r.train.H, r.train.W, in[1], in[2])
			case r.Cfg.Augment:
				aug.Apply(augRNG, src, x.Example(j), in[0], in[1], in[2])
			default:
				copy(x.Example(j), src)
			}
			labels[j] = r.train.Labels[i]
		}
		y, err := r.Net.Forward(x, true)
		if err != nil {
			return EpochMetrics{}, err
		}
		if dl == nil || dl.N() != b {
			dl = kernel.NewTensor(y.Shape...)
		}
		lr = sched.Rate(float64(epoch-1) + float64(start)/float64(n))
		loss, c := kernel.SmoothedCrossEntropy(y.Data, classes, labels, r.Cfg.LabelSmoothing, dl.Data)
		if !finite(loss) {
			return EpochMetrics{}, r.diverged("training loss %v at epoch %d, step %d of %d (lr %g)",
				loss, epoch, start/r.Cfg.Batch+1, steps, lr)
		}
		r.Net.ZeroGrad()
		if _, err := r.Net.Backward(dl, kernel.Pass{Params: true}); err != nil {
			return EpochMetrics{}, err
		}
		r.opt.Step(params, float32(lr))
		lossSum += loss * float64(b)
		correct += c
		seen += b
		if p != nil {
			p.Step(epoch, seen, n, lossSum/float64(seen), float64(correct)/float64(seen))
		}
	}
	m := EpochMetrics{Epoch: epoch, TrainLoss: lossSum / float64(seen), TrainAcc: float64(correct) / float64(seen), LR: lr} // the last step's rate
	m.ImgPerSec = float64(seen) / time.Since(t0).Seconds()
	// The last step's update can leave weights that are no longer finite,
	// behind a finite loss: they must not be validated as a result or saved.
	bad, v := firstNonFinite(r.Net.Tensors())
	if r.val != nil {
		m.ValLoss, m.ValAcc = r.Evaluate(r.xVal, r.val.Labels)
		if !finite(m.ValLoss) {
			why := ""
			if bad != "" {
				why = fmt.Sprintf("; %s holds %v", bad, v)
			}
			return EpochMetrics{}, r.diverged("validation loss %v after epoch %d, step %d of %d (lr %g)%s", m.ValLoss, epoch, steps, steps, lr, why)
		}
	} else {
		m.NoVal = true
	}
	if bad != "" {
		return EpochMetrics{}, r.diverged("%s holds %v after epoch %d, step %d of %d (lr %g)", bad, v, epoch, steps, steps, lr)
	}
	m.Seconds = time.Since(t0).Seconds()
	return m, nil
}

// Evaluate returns the mean loss and top-1 accuracy of the net (in
// evaluation mode) on preprocessed images x with labels, stored at the
// data's size as the run holds them: each is mapped to the network input as
// in validation (see Config), the centre crop or the centred canvas.
func (r *Run) Evaluate(x []float32, labels []int) (loss, acc float64) {
	if r.mode == sameSize {
		return Evaluate(r.Net, x, labels, 256)
	}
	return EvaluateSized(r.Net, x, labels, 256, r.train.H, r.train.W)
}

// Evaluate returns the mean cross-entropy and top-1 accuracy of net in
// evaluation mode on the preprocessed inputs x, batch images at a time.
func Evaluate(net *kernel.Net, x []float32, labels []int, batch int) (loss, acc float64) {
	in := net.Spec.Input
	dim := in[0] * in[1] * in[2]
	return evaluate(net, labels, batch, func(start, end int) *kernel.Tensor {
		return &kernel.Tensor{Shape: []int{end - start, in[0], in[1], in[2]}, Data: x[start*dim : end*dim]}
	})
}

// EvaluateSized is Evaluate on preprocessed images x of h×w (net's input
// channels), each mapped to net's input a batch at a time: the central
// window when they are at least as large (CenterCrop), the centre of a zero
// canvas when they are at most as large (CenterCanvas). It panics on an
// image larger in one dimension and smaller in the other.
func EvaluateSized(net *kernel.Net, x []float32, labels []int, batch, h, w int) (loss, acc float64) {
	in := net.Spec.Input
	c, dim := in[0], in[0]*h*w
	if (h > in[1] || w > in[2]) && (h < in[1] || w < in[2]) {
		panic(fmt.Sprintf("trainer: EvaluateSized: %d×%d images for a %d×%d input", h, w, in[1], in[2]))
	}
	var buf *kernel.Tensor
	return evaluate(net, labels, batch, func(start, end int) *kernel.Tensor {
		if buf == nil {
			buf = kernel.NewTensor(end-start, in[0], in[1], in[2])
		}
		t := &kernel.Tensor{Shape: []int{end - start, in[0], in[1], in[2]}, Data: buf.Data[:(end-start)*in[0]*in[1]*in[2]]}
		for j := range end - start {
			// The placement every consumer of the model file uses.
			preprocess.Place(x[(start+j)*dim:(start+j+1)*dim], t.Example(j), c, h, w, in[1], in[2])
		}
		return t
	})
}

func evaluate(net *kernel.Net, labels []int, batch int, input func(start, end int) *kernel.Tensor) (loss, acc float64) {
	var sum float64
	correct := 0
	for start := 0; start < len(labels); start += batch {
		end := min(start+batch, len(labels))
		t := input(start, end)
		y, err := net.Forward(t, false)
		if err != nil {
			return math.NaN(), 0
		}
		l, c := kernel.SoftmaxCrossEntropy(y.Data, net.Classes(), labels[start:end], nil)
		sum += l * float64(end-start)
		correct += c
	}
	return sum / float64(len(labels)), float64(correct) / float64(len(labels))
}

// WriteModel writes the net's current weights, with the classes, the
// preprocessing and the recipe, as a weight file.
func (r *Run) WriteModel(path string) error {
	meta := map[string]string{
		"trained":       time.Now().UTC().Format(time.RFC3339),
		"data":          r.Cfg.Data,
		"epochs":        fmt.Sprint(r.Epoch()),
		"recipe":        r.Cfg.Recipe(),
		"preprocess":    r.Prep.Kind,
		"val_per_class": fmt.Sprint(r.Cfg.ValPerClass),
	}
	if r.Cfg.Resize > 0 {
		meta["resize"] = fmt.Sprint(r.Cfg.Resize)
	}
	if k := len(r.History); k > 0 {
		if !r.History[k-1].NoVal {
			meta["val_accuracy"] = fmt.Sprintf("%.4f", r.History[k-1].ValAcc)
		}
		meta["train_accuracy"] = fmt.Sprintf("%.4f", r.History[k-1].TrainAcc)
	}
	net := r.Net
	if net.Spec.HasBatchNorm() {
		folded, err := kernel.FoldBatchNorm(net)
		if err != nil {
			return fmt.Errorf("trainer: %w", err)
		}
		net = folded
		meta["norm"] = "trained with batch normalisation, folded into the convolutions"
	}
	return format.WriteFile(path, format.FromNet(net, r.Classes, r.Prep, format.DType(r.Cfg.DType), meta))
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
	return s
}
