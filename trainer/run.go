package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/allcnn/allcnn/optim"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

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
	// With an average of the weights (Config.EMA), ValLoss and ValAcc are
	// the averaged net's and these the trained weights' own.
	ValLossLive float64 `msgpack:"val_loss_live,omitempty" json:"val_loss_live,omitempty"`
	ValAccLive  float64 `msgpack:"val_acc_live,omitempty" json:"val_acc_live,omitempty"`
	Averaged    bool    `msgpack:"averaged,omitempty" json:"-"`
}

// MarshalJSON writes m as one JSON object, without val_loss and val_acc
// when the run has no validation images, and with val_loss_live and
// val_acc_live when its weights are averaged. A NaN or infinite value is an
// error, as in encoding/json.
func (m EpochMetrics) MarshalJSON() ([]byte, error) {
	line := struct {
		Epoch     int      `json:"epoch"`
		TrainLoss float64  `json:"train_loss"`
		TrainAcc  float64  `json:"train_acc"`
		ValLoss   *float64 `json:"val_loss,omitempty"`
		ValAcc    *float64 `json:"val_acc,omitempty"`
		LiveLoss  *float64 `json:"val_loss_live,omitempty"`
		LiveAcc   *float64 `json:"val_acc_live,omitempty"`
		LR        float64  `json:"lr"`
		ImgPerSec float64  `json:"img_s"`
		Seconds   float64  `json:"seconds"`
	}{Epoch: m.Epoch, TrainLoss: m.TrainLoss, TrainAcc: m.TrainAcc, LR: m.LR, ImgPerSec: m.ImgPerSec, Seconds: m.Seconds}
	if !m.NoVal {
		line.ValLoss, line.ValAcc = &m.ValLoss, &m.ValAcc
		if m.Averaged {
			line.LiveLoss, line.LiveAcc = &m.ValLossLive, &m.ValAccLive
		}
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

	opt              optim.SGD
	avg              *average // of the weights, with Cfg.EMA; else nil
	shuffle, augment *rand.PCG
	train, val       *dataset.Dataset // raw pixels
	xTrain, xVal     []float32        // preprocessed images, at the data's size
	mode             inputMode        // how they reach the network's input
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
	net, err := cfg.Kernel.Build(cfg.Spec)
	if err != nil {
		return nil, err
	}
	if err := net.Init(cfg.Init, cfg.Seed); err != nil {
		return nil, err
	}
	net.Seed(cfg.Seed)
	r.Net = net
	if cfg.EMA > 0 {
		r.avg = newAverage(cfg.EMA, net.Tensors())
	}
	r.opt = optim.SGD{Momentum: float32(cfg.Momentum), WeightDecay: float32(cfg.WeightDecay), Nesterov: cfg.Nesterov}
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
func prepare(p *preprocess.Params, d *dataset.Dataset) []float32 {
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
	params, tensors := r.Net.Params(), r.Net.Tensors()
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
			if r.Cfg.Cutout > 0 {
				Cutout(augRNG, x.Example(j), in[0], in[1], in[2], r.Cfg.Cutout)
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
		if r.avg != nil {
			r.avg.update(tensors)
		}
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
	bad, v := firstNonFinite(tensors)
	if r.val != nil {
		m.ValLoss, m.ValAcc = r.Evaluate(r.xVal, r.val.Labels)
		if r.avg != nil && finite(m.ValLoss) {
			m.ValLossLive, m.ValAccLive, m.Averaged = m.ValLoss, m.ValAcc, true
			r.avg.swap(tensors)
			m.ValLoss, m.ValAcc = r.Evaluate(r.xVal, r.val.Labels)
			r.avg.swap(tensors)
		}
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

// WriteModel writes the net's current weights (their average, with
// Cfg.EMA), with the classes, the preprocessing and the recipe, as a weight
// file.
func (r *Run) WriteModel(path string) error {
	if r.avg != nil {
		tensors := r.Net.Tensors()
		r.avg.swap(tensors)
		defer r.avg.swap(tensors)
	}
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
	if r.avg != nil {
		meta["weights"] = fmt.Sprintf("exponential moving average, decay %g per step", r.Cfg.EMA)
	}
	return format.WriteFile(path, format.FromNet(net, r.Classes, r.Prep, format.DType(r.Cfg.DType), meta))
}
