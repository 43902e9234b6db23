package main

import (
	"io"
	"slices"
	"testing"
)

// TestFastRecipe: -recipe fast sets its values, and a flag given on the
// command line wins over the recipe's.
func TestFastRecipe(t *testing.T) {
	var o options
	fs := newFlags("allcnn-train", &o, io.Discard, false)
	if err := parseFlags(fs, &o, []string{"-recipe", "fast", "-epochs", "3", "-label-smoothing", "0"}); err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Norm != "batch" || c.LRSchedule != "onecycle" || !c.Nesterov || c.Width != 0.75 || c.Batch != 128 ||
		c.LR != 0.2 || c.WeightDecay != 0.0005 || !c.Augment || c.Preprocess != "channel" || c.DType != "f16" ||
		!slices.Equal(c.Dropout, []float32{0, 0}) || c.Warmup != 5 || c.Cutout != 8 || c.EMA != 0.999 {
		t.Errorf("fast recipe: %+v", c)
	}
	if c.Epochs != 3 || c.LabelSmoothing != 0 {
		t.Errorf("flags given: epochs %d, label smoothing %v; want 3 and 0", c.Epochs, c.LabelSmoothing)
	}
	// The default is the paper's recipe.
	var p options
	fs = newFlags("allcnn-train", &p, io.Discard, false)
	if err := parseFlags(fs, &p, nil); err != nil {
		t.Fatal(err)
	}
	if p.cfg.Norm != "none" || p.cfg.LRSchedule != "step" || p.cfg.Epochs != 350 || p.cfg.LR != 0.05 || p.cfg.Width != 1 || p.cfg.Cutout != 0 || p.cfg.EMA != 0 {
		t.Errorf("paper recipe: %+v", p.cfg)
	}
}
