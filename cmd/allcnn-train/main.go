// Command allcnn-train trains the paper's networks with its recipe
// (NOTES.md §5): SGD with momentum, weight decay, a step schedule, dropout,
// GCN + ZCA or per-channel preprocessing, optional flips and translations;
// random crops of larger images (ImageNet, -resize) and a canvas for smaller
// ones (the Large All-CNN), chosen by the images' size (see -help).
//
//	allcnn-train [flags]           train (see -help)
//	allcnn-train sweep [flags]     the paper's learning-rate search
//	allcnn-train paper [flags]     the paper's Table 3, trained and tabulated
//	allcnn-train export -o FILE DIR   the model of a run's last checkpoint
//
// A run folder (-out) receives checkpoint.msgpack after every epoch (written
// atomically; -resume DIR continues exactly), metrics.jsonl, curves.png and,
// at the end, model.msgpack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/allcnn/allcnn/internal/cliflag"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/trainer"
)

// defaultData is the CIFAR-10 images shipped beside the project checkout.
const defaultData = "folder:../shared/data/cifar10-train-jpg.tar.gz"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	cfg      trainer.Config
	arch     string // -arch: a zoo model's name or a JSON architecture file (isArchFile)
	out      string
	resume   string
	threads  int
	json     bool
	lrs      string // sweep only
	sweep    bool   // the flags of allcnn-train sweep
	schedule string
	dropout  string
	recipe   string
}

// finish parses the flags that are lists, resolves -arch, resolves the
// learning rate when -lr was not given (the model's, trainer.Config.ModelLR)
// and refuses flags that do not apply (checkApplies). given is the set of
// flags given on the command line, before a recipe set others.
func (o *options) finish(given map[string]bool) error {
	if err := o.checkApplies(given); err != nil {
		return err
	}
	if given["lr"] && !(o.cfg.LR > 0) {
		return fmt.Errorf("%w: -lr %v: want a positive rate", errUsage, o.cfg.LR)
	}
	m, err := parseInts(o.schedule)
	if err != nil {
		return fmt.Errorf("%w: -schedule %q: %v", errUsage, o.schedule, err)
	}
	o.cfg.Milestones = m
	if o.dropout != "" {
		p, err := parseFloats(o.dropout)
		if err != nil || len(p) != 2 {
			return fmt.Errorf("%w: -dropout %q: want two probabilities, input,hidden", errUsage, o.dropout)
		}
		o.cfg.Dropout = []float32{float32(p[0]), float32(p[1])}
	}
	if cliflag.IsArchFile(o.arch) {
		f, err := os.Open(o.arch)
		if err != nil {
			return err
		}
		defer f.Close()
		s, err := kernel.ParseSpec(f)
		if err != nil {
			return fmt.Errorf("%s: %w", o.arch, err)
		}
		o.cfg.Spec = *s
	} else {
		o.cfg.Model = o.arch
	}
	if o.cfg.LR == 0 {
		o.cfg.LR = o.cfg.ModelLR()
	}
	return nil
}

// resumeFlags are the flags that apply with -resume; the run's other
// settings are those of its checkpoint.
var resumeFlags = map[string]bool{"resume": true, "epochs": true, "threads": true, "json": true}

// checkApplies refuses, as a usage error, a flag given on the command line
// that would change nothing: a flag of a zoo model with an architecture
// file, -resize with data other than a folder, a flag of one learning-rate
// schedule with the other, a setting of the run with -resume. Flags set by
// a recipe are not in given, and are not refused (the recipe's -width with
// a file, or its -warmup with -lr-schedule step, simply do not apply).
func (o *options) checkApplies(given map[string]bool) error {
	notHere := func(flag, why string) error {
		return fmt.Errorf("%w: -%s does not apply %s", errUsage, flag, why)
	}
	if o.resume != "" {
		for _, f := range slices.Sorted(maps.Keys(given)) {
			if !resumeFlags[f] {
				return notHere(f, "with -resume: the run continues with the settings of its checkpoint (only -epochs, -threads and -json apply)")
			}
		}
		return nil
	}
	if o.sweep && given["lr"] {
		return notHere("lr", "to sweep, which tries each rate of -lrs")
	}
	if cliflag.IsArchFile(o.arch) {
		for _, f := range []string{"width", "classes"} {
			if given[f] {
				return notHere(f, fmt.Sprintf("with -arch %s: an architecture file fixes the layers, their widths and the classes (-width and -classes apply to a model of 'allcnn models')", o.arch))
			}
		}
	}
	if given["resize"] && !strings.HasPrefix(o.cfg.Data, "folder:") {
		return notHere("resize", fmt.Sprintf("to %s: it resizes the images of folder: data", o.cfg.Data))
	}
	if o.cfg.LRSchedule == trainer.OneCycleSchedule {
		for _, f := range []string{"schedule", "gamma"} {
			if given[f] {
				return notHere(f, "with -lr-schedule onecycle, which falls linearly to 0: it is a setting of the step schedule")
			}
		}
	} else if given["warmup"] {
		return notHere("warmup", fmt.Sprintf("with -lr-schedule %s: it is a setting of the onecycle schedule", o.cfg.LRSchedule))
	}
	return nil
}

func newFlags(name string, o *options, stderr io.Writer, sweep bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := trainer.DefaultConfig()
	o.cfg, o.sweep = d, sweep
	fs.StringVar(&o.cfg.Data, "data", defaultData, "training data: cifar10:DIR, cifar100:DIR, folder:DIR or folder:FILE.tar.gz")
	fs.IntVar(&o.cfg.ValPerClass, "val", d.ValPerClass, "images per class held out (the last ones) for validation; 0 for none")
	fs.IntVar(&o.cfg.PerClass, "per-class", 0, "use only the first N images of each class, validation included (0: all), for quick runs")
	fs.StringVar(&o.arch, "arch", d.Model, archUsage)
	fs.String("model", "", "the old spelling of -arch NAME, accepted with a warning until the next release")
	fs.IntVar(&o.cfg.Classes, "classes", 0, "classes of a zoo -arch (0: the data's)")
	fs.Float64Var(&o.cfg.Width, "width", d.Width, "width multiplier of a zoo -arch's hidden layers")
	if sweep {
		d.Epochs = 10 // a short trial per rate
	}
	fs.IntVar(&o.cfg.Epochs, "epochs", d.Epochs, "epochs in all")
	fs.IntVar(&o.cfg.Batch, "batch", d.Batch, "images per step")
	fs.Float64Var(&o.cfg.LR, "lr", 0, fmt.Sprintf("base learning rate γ (default: the model's: %g for the CIFAR models and an architecture file, %g for large-all-cnn, %g for imagenet-all-cnn; the paper searched 0.25, 0.1, 0.05, 0.01)",
		kernel.DefaultLR("all-cnn-c"), kernel.DefaultLR("large-all-cnn"), kernel.DefaultLR("imagenet-all-cnn")))
	fs.StringVar(&o.schedule, "schedule", "200,250,300", "epochs after which the rate is multiplied by -gamma")
	fs.Float64Var(&o.cfg.Gamma, "gamma", d.Gamma, "learning-rate factor at each -schedule epoch")
	fs.Float64Var(&o.cfg.Momentum, "momentum", d.Momentum, "SGD momentum")
	fs.Float64Var(&o.cfg.WeightDecay, "weight-decay", d.WeightDecay, "L2 weight decay on all layers")
	fs.StringVar(&o.dropout, "dropout", "", "input,hidden dropout probabilities (default: the model's, 0.2,0.5 for CIFAR models); hidden scales the model's hidden dropout so that its largest becomes hidden (large-all-cnn's ramp 0.1…0.5, with no input dropout: 0,0.3 gives 0.06…0.3)")
	fs.StringVar(&o.cfg.Init, "init", d.Init, "weight initialization: "+strings.Join(kernel.InitSchemes, ", "))
	fs.Uint64Var(&o.cfg.Seed, "seed", d.Seed, "random seed (init, dropout, shuffling, augmentation)")
	fs.IntVar(&o.cfg.Resize, "resize", 0, "folder data: scale each image's shorter side to N and keep the central N×N square (e.g. 256 for the 224 ImageNet net: random crops; see Input sizes)")
	fs.BoolVar(&o.cfg.Augment, "augment", false, "augment the training images: flips and random translations of up to 5 px; with crops, flips; on a canvas, flips, scale, rotation, translation and colour (see Input sizes)")
	fs.StringVar(&o.cfg.Preprocess, "preprocess", d.Preprocess, "zca (GCN + ZCA), channel, none, or auto (ZCA when there are ≥ 10 images per input dimension)")
	fs.StringVar(&o.cfg.DType, "dtype", d.DType, "storage type of model.msgpack: f32 or f16")
	fs.StringVar(&o.cfg.Norm, "norm", "none", "normalisation while training: none, or batch (after every convolution but the class layer, folded into the convolutions in model.msgpack)")
	fs.StringVar(&o.cfg.LRSchedule, "lr-schedule", "step", "learning-rate schedule: step (×-gamma after each -schedule epoch), or onecycle (linear warm-up over -warmup epochs to -lr, then linear decay to 0)")
	fs.Float64Var(&o.cfg.Warmup, "warmup", 0, "onecycle: epochs of warm-up")
	fs.BoolVar(&o.cfg.Nesterov, "nesterov", false, "Nesterov momentum")
	fs.Float64Var(&o.cfg.LabelSmoothing, "label-smoothing", 0, "ε of smoothed targets in the training loss")
	fs.IntVar(&o.cfg.Cutout, "cutout", 0, "blank an N×N square of each training input, centred anywhere in it (0: none)")
	fs.Float64Var(&o.cfg.EMA, "ema", 0, "keep an exponential moving average of the weights with this decay per step (e.g. 0.999): validation reads it and model.msgpack is it (0: none)")
	fs.StringVar(&o.recipe, "recipe", "paper", "settings to start from: paper (the paper's, NOTES.md §5) or fast (see Recipes); flags given override them")
	fs.StringVar(&o.out, "out", "", "run folder (default runs/MODEL-TIME)")
	fs.IntVar(&o.threads, "threads", 0, "threads for the kernel (0: all cores); the BLAS runs one per product")
	fs.BoolVar(&o.json, "json", false, "print each epoch's metrics as a JSON line on stdout")
	if sweep {
		fs.StringVar(&o.lrs, "lrs", "0.25,0.1,0.05,0.01", "learning rates to try")
	} else {
		fs.StringVar(&o.resume, "resume", "", "continue the run in this folder from its checkpoint (its settings; -epochs may extend it)")
	}
	fs.Usage = func() {
		if sweep {
			fmt.Fprint(stderr, "Usage: allcnn-train sweep [flags]\n\nThe paper's learning-rate search: a short trial per rate, ranked by validation accuracy.\n\n")
		} else {
			fmt.Fprint(stderr, usageText)
		}
		fs.PrintDefaults()
	}
	return fs
}

const usageText = `Usage: allcnn-train [flags]
       allcnn-train sweep [flags]
       allcnn-train paper [-short] [flags]   (see allcnn-train paper -help)
       allcnn-train export -o FILE RUNDIR

Trains an All Convolutional Net with the paper's recipe (NOTES.md §5). With no
flags it trains All-CNN-C on the CIFAR-10 images in ../shared/data, holding
out the last 500 images of each class for validation.

The run folder (-out) receives, after every epoch, checkpoint.msgpack
(written atomically: a killed run loses at most the epoch in progress, and
-resume DIR continues it exactly), metrics.jsonl (one JSON line per epoch:
train and validation loss and accuracy, lr, images/s, seconds; with -val 0,
no validation fields) and curves.png; at the end, model.msgpack for 'allcnn
eval', 'allcnn predict', 'allcnn viz' and the browser module. A NaN or
infinite loss, training or validation, stops the run and keeps the last good
checkpoint; so does a failed write, naming the file. Ctrl-C stops after the
current step; resume later.

-arch names the architecture: a model of 'allcnn models' (all-cnn-c, the
default), or a JSON architecture file, as 'allcnn models -spec NAME'
prints; a value that ends in .json or names an existing file is a file.
-width and -classes apply to a model of 'allcnn models' only. -model NAME,
the old spelling of -arch NAME, still works for this release, with a
warning.

Each -arch has its own default -lr (see -lr). A flag that does not apply
(-width or -classes with an architecture file, -resize with non-folder data,
-warmup without -lr-schedule onecycle, -schedule or -gamma with it, settings
with -resume) is a usage error.

Input sizes: the data's images may differ from the model's input, and their
sizes choose the mode:
  equal    each image is the input; -augment: flips, translations of ±5 px.
  larger   ImageNet-style (NOTES.md §4), e.g. -resize 256 with
           -arch imagenet-all-cnn (224): training takes a random 224×224
           crop of each image at every step (-augment adds flips);
           validation takes the centre crop.
  smaller  Large All-CNN (NOTES.md §3), e.g. 32×32 CIFAR with
           -arch large-all-cnn (126): validation places each image in the
           centre of a zero canvas (the mean after preprocessing), and so
           does training without -augment; -augment places it with a flip,
           a scale in [0.8, 1.2], a rotation within ±15°, a translation
           anywhere the whole image stays on the canvas, and each channel
           multiplied by a factor in [0.8, 1.2] (bilinear sampling).
In the last two, preprocessing is per channel, fitted on the whole images:
-preprocess auto means channel, and zca is refused.

Recipes (-recipe): the flags start from a recipe's values, and flags given
on the command line override them.
  paper    the paper's (NOTES.md §5): All-CNN-C at full width, dropout
           0.2/0.5, SGD lr 0.05 with momentum 0.9 and weight decay 0.001,
           ×0.1 after epochs 200, 250, 300, 350 epochs, batch 64, GCN +
           ZCA; the default.
  fast     the paper's net in under two hours on two cores: All-CNN-C at
           width 0.75 trained with batch normalisation (-norm batch; folded
           into the convolutions of model.msgpack, which is the plain
           net), no dropout, 46 epochs of batch 128, a one-cycle schedule
           to lr 0.2 (-lr-schedule onecycle -warmup 5), Nesterov momentum
           0.9, weight decay 0.0005, label smoothing 0.1, flips,
           translations and 8×8 cutout, per-channel normalisation, an
           average of the weights (-ema 0.999), float16 weights.
A one-cycle schedule spans the run's -epochs: -resume with more epochs
stretches what is left of it.

-ema D keeps an exponential moving average of the weights (and of batch
normalisation's statistics), decay D per step (the past weighs
min(D, (1+t)/(10+t)) at step t): validation reads the averaged net, the
summary line and metrics.jsonl (val_acc_live) give the trained weights'
accuracy beside it, and model.msgpack is the average.

Flags:
`

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "sweep":
		err = runSweep(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "paper":
		err = runPaper(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "export":
		err = runExport(args[1:], stdout, stderr)
	default:
		err = runTrain(ctx, args, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "allcnn-train:", err)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "allcnn-train: stopped; the last checkpoint is kept (continue with -resume)")
		return 130
	default:
		fmt.Fprintln(stderr, "allcnn-train:", err)
		return 1
	}
}

// parseArgs parses the flags and refuses arguments, as a usage error.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func parseFlags(fs *flag.FlagSet, o *options, args []string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if err := oldModel(fs); err != nil {
		return err
	}
	given := cliflag.Given(fs)
	if err := applyRecipe(fs, o.recipe); err != nil {
		return err
	}
	return o.finish(given)
}

// archUsage is the help of -arch.
const archUsage = "architecture: a model of 'allcnn models', or a JSON architecture file (a value that ends in .json or names an existing file)"

// recipes are named sets of flag values; flags given on the command line
// win over them.
var recipes = map[string][][2]string{
	"paper": nil, // the flags' defaults
	"fast":  fastRecipe,
}

// applyRecipe sets every flag of the recipe that the command line left
// unset.
func applyRecipe(fs *flag.FlagSet, name string) error {
	r, ok := recipes[name]
	if !ok {
		return fmt.Errorf("%w: -recipe %q (want paper or fast)", errUsage, name)
	}
	set := cliflag.Given(fs)
	for _, kv := range r {
		if set[kv[0]] || fs.Lookup(kv[0]) == nil {
			continue
		}
		if err := fs.Set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("recipe %s: -%s %s: %v", name, kv[0], kv[1], err)
		}
	}
	return nil
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("allcnn-train", &o, stderr, false)
	if err := parseFlags(fs, &o, args); err != nil {
		return err
	}
	info := native.Setup(o.threads)
	fmt.Fprintf(stderr, "BLAS: %s\n", info)
	var r *trainer.Run
	var err error
	if o.resume != "" {
		epochs := 0
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "epochs" {
				epochs = o.cfg.Epochs
			}
		})
		r, err = trainer.Resume(o.resume, epochs, info.Kernel, stderr)
	} else {
		if o.out == "" {
			o.out = filepath.Join("runs", fmt.Sprintf("%s-%s", o.cfg.Model, time.Now().Format("20060102-150405")))
		}
		o.cfg.Kernel = info.Kernel
		r, err = trainer.Start(o.cfg, o.out, stderr)
	}
	if err != nil {
		return err
	}
	p, _ := r.Cfg.Spec.ParamCount()
	folded := ""
	if r.Cfg.Spec.HasBatchNorm() {
		plain := r.Cfg.Spec.WithoutBatchNorm()
		fp, _ := plain.ParamCount()
		folded = fmt.Sprintf(" (%d once batch norm is folded into the convolutions)", fp)
	}
	fmt.Fprintf(stderr, "model: %s, %d parameters%s, %d classes; run folder %s\n", r.Cfg.Spec.Name, p, folded, r.Net.Classes(), r.Dir)
	pr := trainer.NewPrinter(stderr, r.Cfg.Epochs)
	if o.json {
		pr.JSON = stdout
	}
	if err := r.Train(ctx, pr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", filepath.Join(r.Dir, trainer.ModelFile))
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// oldModel accepts -model NAME for -arch NAME, with a warning
// (cliflag.OldModel); both at once is a usage error.
func oldModel(fs *flag.FlagSet) error {
	if err := cliflag.OldModel(fs, "allcnn-train"); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}
