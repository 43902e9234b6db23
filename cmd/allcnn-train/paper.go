package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/allcnn/allcnn/internal/atomicfile"
	"github.com/allcnn/allcnn/internal/cliflag"
	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/trainer"
)

// table3 is the paper's Table 3: CIFAR-10 test error (%) without
// augmentation, and its Table 4 figure for All-CNN-C on CIFAR-100.
var table3 = []struct {
	Model string
	Error float64
}{
	{"model-a", 12.47}, {"strided-cnn-a", 13.46}, {"convpool-cnn-a", 10.21}, {"all-cnn-a", 10.30},
	{"model-b", 10.20}, {"strided-cnn-b", 10.98}, {"convpool-cnn-b", 9.33}, {"all-cnn-b", 9.10},
	{"model-c", 9.74}, {"strided-cnn-c", 10.19}, {"convpool-cnn-c", 9.31}, {"all-cnn-c", 9.08},
}

const cifar100Error = 33.71

// paperRow is one line of the reproduced table.
type paperRow struct {
	Model      string  `json:"model"`
	Data       string  `json:"data"`
	CIFAR100   bool    `json:"cifar100,omitempty"`
	Params     int     `json:"params"`
	Epochs     int     `json:"epochs"`
	ValError   float64 `json:"val_error"`   // %, on the held-out images
	PaperError float64 `json:"paper_error"` // %, the paper's test error
	Diverged   bool    `json:"diverged,omitempty"`
	Minutes    float64 `json:"minutes"`
	Dir        string  `json:"dir"`
}

const paperUsage = `Usage: allcnn-train paper [flags]

Reproduces the paper's Table 3: trains the twelve CIFAR-10 models (Model A,
B, C and their Strided, ConvPool and All-CNN variants) with the paper's
recipe (the flags' defaults: 350 epochs, lr ×0.1 after epochs 200, 250 and
300, dropout, GCN + ZCA), and All-CNN-C on CIFAR-100 when -data100 is given,
each in its own folder under -out, then writes table.md and table.json there,
the held-out error of each beside the paper's test error. The paper chose the
learning rate per model from 0.25, 0.1, 0.05 and 0.01; this uses -lr for all
(run 'allcnn-train sweep' per model to choose).

A finished model is not trained again and an unfinished one is resumed, so
the same command continues an interrupted table.

-short is the form for a two-core machine: width ¼ and 10 epochs on the
first 1,500 images of each class (1,000 to train, 500 held out), the
schedule's milestones scaled to the epochs (6, 7, 9); flags given override
it. It shows the ranking's shape in about 15 minutes, not the paper's
errors, which need the full 350 epochs (a day of a large host per model).

Flags:
`

func runPaper(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("allcnn-train paper", &o, stderr, false)
	models := fs.String("models", "", "comma-separated subset of the twelve models (default: all)")
	data100 := fs.String("data100", "", "CIFAR-100 data (cifar100:DIR, or a folder of its 100 classes) for the All-CNN-C row of Table 4; none: no such row")
	short := fs.Bool("short", false, "the short form for a small machine (see above)")
	fs.Usage = func() {
		fmt.Fprint(stderr, paperUsage)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if o.resume != "" {
		return fmt.Errorf("%w: paper resumes by itself: run it again with the same -out", errUsage)
	}
	if err := oldModel(fs); err != nil {
		return err
	}
	set := cliflag.Given(fs)
	if set["arch"] {
		return fmt.Errorf("%w: -arch does not apply to paper, which trains Table 3's models; choose them with -models", errUsage)
	}
	if *short {
		for _, kv := range [][2]string{{"width", "0.25"}, {"epochs", "10"}, {"per-class", "1500"}} {
			if !set[kv[0]] {
				fs.Set(kv[0], kv[1])
			}
		}
	}
	if !set["schedule"] {
		// The paper's milestones, scaled to the run's length.
		var ms []string
		for _, m := range []int{200, 250, 300} {
			ms = append(ms, fmt.Sprint(int(math.Round(float64(m)*float64(o.cfg.Epochs)/350))))
		}
		o.schedule = strings.Join(ms, ",")
	}
	if err := applyRecipe(fs, o.recipe); err != nil {
		return err
	}
	if err := o.finish(set); err != nil {
		return err
	}
	if o.cfg.ValPerClass == 0 {
		return fmt.Errorf("%w: paper tabulates held-out errors; -val must be > 0", errUsage)
	}
	var todo []paperRow
	want := map[string]bool{}
	for _, m := range strings.Split(*models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			want[m] = true
		}
	}
	for _, r := range table3 {
		if len(want) == 0 || want[r.Model] {
			todo = append(todo, paperRow{Model: r.Model, Data: o.cfg.Data, PaperError: r.Error})
			delete(want, r.Model)
		}
	}
	for m := range want {
		return fmt.Errorf("%w: -models: %q is not one of Table 3's twelve", errUsage, m)
	}
	if *data100 != "" {
		todo = append(todo, paperRow{Model: "all-cnn-c", Data: *data100, CIFAR100: true, PaperError: cifar100Error})
	}
	if o.out == "" {
		o.out = filepath.Join("runs", "paper")
	}
	form := fmt.Sprintf("width %g, %s", o.cfg.Width, o.cfg.Recipe())
	if o.cfg.PerClass > 0 {
		form += fmt.Sprintf(", the first %d images of each class", o.cfg.PerClass)
	}
	form += fmt.Sprintf(", the last %d of each held out", o.cfg.ValPerClass)
	info := native.Setup(o.threads)
	o.cfg.Kernel = info.Kernel
	fmt.Fprintf(stderr, "BLAS: %s\n", info)
	fmt.Fprintf(stderr, "paper: %d models, %d epochs each (schedule ×%g after %v), width %g, in %s\n", len(todo), o.cfg.Epochs, o.cfg.Gamma, o.cfg.Milestones, o.cfg.Width, o.out)
	for i := range todo {
		row := &todo[i]
		cfg := o.cfg
		cfg.Model, cfg.Data = row.Model, row.Data
		name := row.Model
		if row.CIFAR100 {
			name += "-cifar100"
		}
		row.Dir = filepath.Join(o.out, name)
		fmt.Fprintf(stderr, "\n== %s (%d of %d) in %s\n", name, i+1, len(todo), row.Dir)
		var r *trainer.Run
		var err error
		if _, statErr := os.Stat(filepath.Join(row.Dir, trainer.CheckpointFile)); statErr == nil {
			r, err = trainer.Resume(row.Dir, 0, info.Kernel, stderr)
		} else {
			r, err = trainer.Start(cfg, row.Dir, stderr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		row.Params, _ = r.Cfg.Spec.ParamCount()
		if r.Epoch() < r.Cfg.Epochs {
			err = r.Train(ctx, trainer.NewPrinter(stderr, r.Cfg.Epochs))
		} else {
			fmt.Fprintf(stderr, "%s: already trained\n", name)
		}
		switch {
		case errors.Is(err, trainer.ErrDiverged):
			fmt.Fprintln(stderr, err)
			row.Diverged = true
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		}
		row.Epochs = r.Epoch()
		var secs float64
		for _, m := range r.History {
			secs += m.Seconds
		}
		row.Minutes = secs / 60
		if k := len(r.History); k > 0 {
			row.ValError = 100 * (1 - r.History[k-1].ValAcc)
		}
		if err := writePaperTable(o.out, todo[:i+1], form); err != nil {
			return err
		}
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(todo)
	}
	return printPaperTable(stdout, todo)
}

// writePaperTable writes table.md and table.json in dir.
func writePaperTable(dir string, rows []paperRow, form string) error {
	js, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "table.json"), append(js, '\n')); err != nil {
		return fmt.Errorf("paper: %w", err)
	}
	var md strings.Builder
	md.WriteString("Held-out error of each model trained by `allcnn-train paper`, beside the paper's test error (Table 3; Table 4 for CIFAR-100).\n\n")
	md.WriteString("Trained with: " + form + ".\n\n")
	if err := printPaperTable(&md, rows); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "table.md"), []byte(md.String())); err != nil {
		return fmt.Errorf("paper: %w", err)
	}
	return nil
}

func printPaperTable(w io.Writer, rows []paperRow) error {
	fmt.Fprintln(w, "| model | data | parameters | epochs | held-out error | paper's test error | minutes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		e := fmt.Sprintf("%.2f%%", r.ValError)
		if r.Diverged {
			e = "diverged"
		}
		data := "CIFAR-10"
		if r.CIFAR100 {
			data = "CIFAR-100"
		}
		_, err := fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %.2f%% | %.1f |\n", r.Model, data, r.Params, r.Epochs, e, r.PaperError, r.Minutes)
		if err != nil {
			return err
		}
	}
	return nil
}
