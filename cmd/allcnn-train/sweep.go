package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/trainer"
)

// sweepRow is one trial of the learning-rate search.
type sweepRow struct {
	LR       float64 `json:"lr"`
	ValAcc   float64 `json:"val_acc"`
	ValLoss  float64 `json:"val_loss"`
	Diverged bool    `json:"diverged"`
	Dir      string  `json:"dir"`
}

// runSweep is the paper's γ search (NOTES.md §5): a short run per rate,
// each in its own folder, ranked by final validation accuracy.
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("allcnn-train sweep", &o, stderr, true)
	if err := parseFlags(fs, &o, args); err != nil {
		return err
	}
	lrs, err := parseFloats(o.lrs)
	if err != nil || len(lrs) == 0 {
		return fmt.Errorf("%w: -lrs %q", errUsage, o.lrs)
	}
	if o.cfg.ValPerClass == 0 {
		return fmt.Errorf("%w: a sweep ranks by validation accuracy; -val must be > 0", errUsage)
	}
	if o.out == "" {
		o.out = filepath.Join("runs", "sweep-"+time.Now().Format("20060102-150405"))
	}
	info := native.Setup(o.threads)
	o.cfg.Kernel = info.Kernel
	fmt.Fprintf(stderr, "BLAS: %s\n", info)
	var rows []sweepRow
	for _, lr := range lrs {
		cfg := o.cfg
		cfg.LR = lr
		dir := filepath.Join(o.out, "lr-"+strconv.FormatFloat(lr, 'g', -1, 64))
		fmt.Fprintf(stderr, "\n== lr %g (%d epochs) in %s\n", lr, cfg.Epochs, dir)
		r, err := trainer.Start(cfg, dir, stderr)
		if err != nil {
			return err
		}
		row := sweepRow{LR: lr, Dir: dir}
		err = r.Train(ctx, trainer.NewPrinter(stderr, cfg.Epochs))
		switch {
		case errors.Is(err, trainer.ErrDiverged):
			fmt.Fprintln(stderr, err)
			row.Diverged = true
		case err != nil:
			return err
		default:
			last := r.History[len(r.History)-1]
			row.ValAcc, row.ValLoss = last.ValAcc, last.ValLoss
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Diverged != rows[j].Diverged {
			return !rows[i].Diverged
		}
		return rows[i].ValAcc > rows[j].ValAcc
	})
	if o.json {
		return json.NewEncoder(stdout).Encode(rows)
	}
	fmt.Fprintf(stdout, "%-8s %-10s %-10s %s\n", "LR", "VAL ACC", "VAL LOSS", "RUN")
	for _, r := range rows {
		if r.Diverged {
			fmt.Fprintf(stdout, "%-8g %-10s %-10s %s\n", r.LR, "diverged", "-", r.Dir)
			continue
		}
		fmt.Fprintf(stdout, "%-8g %-10s %-10.4f %s\n", r.LR, fmt.Sprintf("%.2f%%", 100*r.ValAcc), r.ValLoss, r.Dir)
	}
	if !rows[0].Diverged {
		fmt.Fprintf(stdout, "best: lr %g\n", rows[0].LR)
	}
	return nil
}
