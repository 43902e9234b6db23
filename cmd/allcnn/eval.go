package main

import (
	"fmt"
	"io"
	"strings"
)

type evalReport struct {
	Model  string  `json:"model"`
	Data   string  `json:"data"`
	Split  string  `json:"split,omitempty"` // empty for a folder
	Images int     `json:"images"`
	Top1   float64 `json:"top1_error"`
	TopK   float64 `json:"top5_error"`
	K      int     `json:"top5_k"` // 5, or the model's classes if fewer
	// HeldOut is -val: only the last HeldOut images of each class counted.
	HeldOut int `json:"held_out_per_class,omitempty"`
	// Flip is -flip: each image's probabilities averaged with its mirror's.
	Flip bool `json:"flip_tta,omitempty"`
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := flags("eval", `eval -model FILE -data SPEC [-split test] [-val N] [-flip] [-batch 100] [-limit N] [-json]

Measures the top-1 and top-5 error of a model on a labelled data set:
  cifar10:DIR, cifar100:DIR   the CIFAR binary release; -split test reads its
                              test batch, -split train its training batches
  folder:DIR, folder:F.tar.gz one sub-folder of PNG/JPEG images per class
                              (no splits: the folder is read whole)
The data's classes are matched to the model's by name, so a folder may hold
any subset of the model's classes, in any order. Images of another size than
the model's input are cropped and resampled as 'allcnn predict' does. Each
batch is preprocessed with the model's parameters and run in evaluation
mode; with -flip, each image's class probabilities are the mean of its own
and its left-right mirror's (test-time augmentation; off by default, and
said in the report when on). Progress goes to stderr every few seconds.`, stderr)
	path := fs.String("model", "", "weight file (required)")
	spec := fs.String("data", "", "data set: cifar10:DIR, cifar100:DIR, folder:DIR or folder:FILE.tar.gz (required)")
	split := fs.String("split", "test", "test or train (cifar data; a folder is read whole)")
	batch := fs.Int("batch", 100, "images per forward pass")
	limit := fs.Int("limit", 0, "evaluate only N images spread evenly over the data set (0: all)")
	val := fs.Int("val", 0, "evaluate only the last N images of each class: the images 'allcnn-train -val N' held out of the same data (0: all)")
	flip := fs.Bool("flip", false, "average each image's probabilities with its mirror's (test-time augmentation)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *spec == "" || *batch < 1 || *limit < 0 || *val < 0 || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: eval needs -model FILE, -data SPEC, -batch ≥ 1 and no arguments", errUsage)
	}
	m, err := openModel(*path, stderr)
	if err != nil {
		return err
	}
	d, err := loadData(*spec, *split, m)
	if err != nil {
		return err
	}
	if *val > 0 {
		_, d = d.Split(*val)
	}
	// The model's index of each data class, by name.
	classes := m.File().Classes
	toModel := make([]int, len(d.Classes))
	for i, name := range d.Classes {
		toModel[i] = -1
		for j, c := range classes {
			if c == name {
				toModel[i] = j
			}
		}
		if toModel[i] < 0 {
			return fmt.Errorf("eval: class %q of %s is not one of the model's %d classes (%s)", name, *spec, len(classes), strings.Join(classes, ", "))
		}
	}
	idx := sample(d.Len(), *limit)
	if len(idx) == 0 {
		return fmt.Errorf("eval: %s holds no images", *spec)
	}
	k := m.Classes()
	r := evalReport{Model: *path, Data: *spec, Split: *split, Images: len(idx), K: min(5, k), Flip: *flip}
	where := fmt.Sprintf("%s, split %s", *spec, *split)
	if strings.HasPrefix(*spec, "folder:") {
		r.Split, where = "", *spec
	}
	if *val > 0 {
		r.HeldOut = *val
		where += fmt.Sprintf(", the last %d of each class", *val)
	}
	var wrong1, wrongK int
	prog := newProgress(stderr, "eval", len(idx))
	for lo := 0; lo < len(idx); lo += *batch {
		part := idx[lo:min(lo+*batch, len(idx))]
		x, err := inputs(m, d, part)
		if err != nil {
			return err
		}
		p, err := m.Probs(x, *flip)
		if err != nil {
			return err
		}
		for i, label := range labelsAt(d, part) {
			top := topK(p[i*k:(i+1)*k], r.K)
			want := toModel[label]
			if top[0] != want {
				wrong1++
			}
			hit := false
			for _, c := range top {
				hit = hit || c == want
			}
			if !hit {
				wrongK++
			}
		}
		done := lo + len(part)
		prog.update(done, fmt.Sprintf(", top-1 error so far %.2f%%", 100*float64(wrong1)/float64(done)))
	}
	r.Top1 = float64(wrong1) / float64(len(idx))
	r.TopK = float64(wrongK) / float64(len(idx))
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "model:       %s (%s)\n", *path, m.File().Arch.Name)
	fmt.Fprintf(stdout, "data:        %s: %d images of %d classes\n", where, len(idx), len(d.Classes))
	if r.Flip {
		fmt.Fprintln(stdout, "flip TTA:    on (each image's probabilities averaged with its mirror's)")
	}
	fmt.Fprintf(stdout, "top-1 error: %6.2f%%  (%d wrong)\n", 100*r.Top1, wrong1)
	fmt.Fprintf(stdout, "top-%d error: %6.2f%%  (%d wrong)\n", r.K, 100*r.TopK, wrongK)
	return nil
}
