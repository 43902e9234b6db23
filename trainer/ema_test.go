package trainer

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
)

// TestAverageRule follows the average by hand: the past weighs
// min(decay, (1+t)/(10+t)) at update t, and swap exchanges the two sets.
func TestAverageRule(t *testing.T) {
	w := []*kernel.Param{{Name: "w", Data: []float32{1, 2}}}
	a := newAverage(0.95, w)
	w[0].Data[0], w[0].Data[1] = 3, 4
	a.update(w) // past 1/10
	want := []float32{0.1*1 + 0.9*3, 0.1*2 + 0.9*4}
	for i := range want {
		if math.Abs(float64(a.avg[0][i]-want[i])) > 1e-6 {
			t.Fatalf("after one update %v, want %v", a.avg[0], want)
		}
	}
	d := float32(2) / 11
	a.update(w) // past 2/11
	want = []float32{d*want[0] + (1-d)*3, d*want[1] + (1-d)*4}
	for i := range want {
		if math.Abs(float64(a.avg[0][i]-want[i])) > 1e-6 {
			t.Fatalf("after two updates %v, want %v", a.avg[0], want)
		}
	}
	a.steps = 1000
	if a.past() != 0.95 {
		t.Fatalf("past weight %v at update 1000, want the decay 0.95", a.past())
	}
	avg := slices.Clone(a.avg[0])
	a.swap(w)
	if !slices.Equal(w[0].Data, avg) || !slices.Equal(a.avg[0], []float32{3, 4}) {
		t.Fatalf("swap: weights %v, average %v", w[0].Data, a.avg[0])
	}
	a.swap(w)
	if !slices.Equal(w[0].Data, []float32{3, 4}) || !slices.Equal(a.avg[0], avg) {
		t.Fatalf("swap twice: weights %v, average %v", w[0].Data, a.avg[0])
	}
}

// TestAveragedRun: a run with -ema resumes exactly (average included),
// reports both accuracies, and writes the average as model.msgpack, from
// Train and from Export.
func TestAveragedRun(t *testing.T) {
	cfg := tinyConfig(synthetic(t, 3, 20))
	cfg.EMA = 0.9
	r := checkResume(t, cfg)
	for _, m := range r.History {
		if !m.Averaged || m.ValAccLive == 0 && m.ValLossLive == 0 {
			t.Fatalf("epoch %d: no trained-weights figures: %+v", m.Epoch, m)
		}
	}
	if m := r.History[len(r.History)-1]; m.ValLoss == m.ValLossLive {
		t.Fatalf("validation loss %v of the average equals the trained weights'", m.ValLoss)
	}
	line, err := os.ReadFile(filepath.Join(r.Dir, MetricsFile))
	if err != nil || !strings.Contains(string(line), `"val_acc_live"`) {
		t.Fatalf("metrics.jsonl without val_acc_live: %v\n%s", err, line)
	}
	if lines := curveLines(r.History, func(m EpochMetrics) float64 { return m.TrainAcc }, func(m EpochMetrics) float64 { return m.ValAcc }, func(m EpochMetrics) float64 { return m.ValAccLive }); len(lines) != 6 {
		t.Errorf("the accuracy plot has %d series, want train, the average's and the trained weights' validation", len(lines)/2)
	}
	if !strings.Contains(epochLine(r.History[0], 2), "trained weights") {
		t.Errorf("summary line says nothing of the trained weights: %s", epochLine(r.History[0], 2))
	}
	exported := filepath.Join(t.TempDir(), "export.msgpack")
	if _, err := Export(r.Dir, exported, ""); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(r.Dir, ModelFile), exported} {
		f, err := format.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f.Meta["weights"], "moving average") {
			t.Errorf("%s: metadata does not say the weights are averaged: %v", path, f.Meta)
		}
		net, err := f.Net()
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range r.Net.Tensors() {
			if q := net.Param(p.Name); q == nil || !slices.Equal(q.Data, r.avg.avg[i]) {
				t.Fatalf("%s: %s is not the average", path, p.Name)
			}
		}
	}
}

// TestAveragedBatchNorm: with batch normalisation the running statistics
// are averaged too, and the folded model.msgpack scores what the last
// epoch's validation said of the average.
func TestAveragedBatchNorm(t *testing.T) {
	cfg := tinyConfig(synthetic(t, 3, 20))
	cfg.EMA, cfg.Norm, cfg.Dropout = 0.8, NormBatch, []float32{0, 0}
	r, err := Start(cfg, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var stats int
	for i, p := range r.Net.Tensors() {
		if strings.Contains(p.Name, "running") {
			stats++
			if slices.Equal(p.Data, r.avg.avg[i]) {
				t.Errorf("%s: the average equals the trained statistics", p.Name)
			}
		}
	}
	if stats == 0 {
		t.Fatal("no running statistics among the tensors")
	}
	f, err := format.ReadFile(filepath.Join(r.Dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	net, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	loss, acc := Evaluate(net, r.xVal, r.val.Labels, 256)
	last := r.History[len(r.History)-1]
	if acc != last.ValAcc || math.Abs(loss-last.ValLoss) > 1e-4 {
		t.Fatalf("model.msgpack: loss %v acc %v; the averaged net validated at loss %v acc %v", loss, acc, last.ValLoss, last.ValAcc)
	}
}

// TestAverageCheckpointErrors: a checkpoint whose average does not fit the
// net, or holds a NaN, is a clear error; so is a decay outside [0, 1).
func TestAverageCheckpointErrors(t *testing.T) {
	cfg := tinyConfig(synthetic(t, 3, 10))
	cfg.Epochs, cfg.EMA = 1, 0.9
	_, dir, path, good := trainedCheckpoint(t, cfg)
	cases := []struct {
		name string
		edit func(c *checkpoint)
		want string
	}{
		{"tensor missing", func(c *checkpoint) { c.Average = c.Average[1:] }, "averaged tensors"},
		{"short tensor", func(c *checkpoint) { c.Average[0] = c.Average[0][4:] }, "bytes"},
		{"NaN", func(c *checkpoint) { c.Average[0] = f32bytes([]float32{float32(math.NaN())}) }, "bytes"},
		{"NaN in place", func(c *checkpoint) {
			v, _ := bytesF32(c.Average[1])
			v[0] = float32(math.NaN())
			c.Average[1] = f32bytes(v)
		}, "NaN"},
		{"average without EMA", func(c *checkpoint) { c.Config.EMA = 0 }, "without one"},
		{"no average", func(c *checkpoint) { c.Average = nil }, "averaged tensors"},
	}
	for _, tc := range cases {
		rewriteCheckpoint(t, path, good, tc.edit)
		_, err := Resume(dir, 0, kernel.Options{}, nil)
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: resume: want ErrCheckpoint containing %q, got %v", tc.name, tc.want, err)
		}
		if _, err := Export(dir, filepath.Join(t.TempDir(), "m.msgpack"), ""); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: export: want ErrCheckpoint, got %v", tc.name, err)
		}
	}
	for _, d := range []float64{-0.1, 1, math.NaN()} {
		cfg.EMA = d
		if _, err := Start(cfg, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "EMA") {
			t.Errorf("EMA %v: want an error, got %v", d, err)
		}
	}
}
