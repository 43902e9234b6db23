package trainer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
)

// poisoner is a Progress that sets conv3.bias (the class layer's, so that
// nothing rectifies it away) to NaN after step at of epoch 2, and keeps the
// checkpoint's bytes as they were after epoch 1.
type poisoner struct {
	r          *Run
	at         int // images done in epoch 2 when it poisons; 0: the epoch's last step
	checkpoint []byte
	t          *testing.T
}

func (p *poisoner) Step(epoch, done, total int, loss, acc float64) {
	if epoch == 2 && (done == p.at || p.at == 0 && done == total) {
		p.r.Net.Param("conv3.bias").Data[0] = float32(math.NaN())
	}
}

func (p *poisoner) Epoch(m EpochMetrics) {
	if m.Epoch == 1 {
		b, err := os.ReadFile(filepath.Join(p.r.Dir, CheckpointFile))
		if err != nil {
			p.t.Fatal(err)
		}
		p.checkpoint = b
	}
}

// TestNaNStopsTheRun: a NaN in the training loss, in the validation loss, or
// in the weights of a run without validation stops the run with
// ErrDiverged and says where; the checkpoint on disk stays that of the last
// good epoch, byte for byte, and no model is written.
func TestNaNStopsTheRun(t *testing.T) {
	data := synthetic(t, 3, 20) // 16 training images per class with -val 4: 48, 6 steps of 8
	for _, c := range []struct {
		name string
		val  int
		at   int
		want string
	}{
		{"training loss", 4, 8, "training loss NaN at epoch 2, step 2 of 6"},
		{"validation loss", 4, 0, "validation loss NaN after epoch 2, step 6 of 6 (lr 0.05); conv3.bias holds NaN"},
		{"weights without validation", 0, 0, "conv3.bias holds NaN after epoch 2, step 8 of 8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(data)
			cfg.ValPerClass, cfg.Epochs = c.val, 3
			dir := t.TempDir()
			r, err := Start(cfg, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := &poisoner{r: r, at: c.at, t: t}
			err = r.Train(context.Background(), p)
			if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "last good checkpoint is epoch 1") {
				t.Fatalf("want ErrDiverged saying %q and the last good checkpoint, got %v", c.want, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
			if err != nil || p.checkpoint == nil || !bytes.Equal(got, p.checkpoint) {
				t.Fatalf("the checkpoint is not epoch 1's, byte for byte (%v)", err)
			}
			if metrics, _ := os.ReadFile(filepath.Join(dir, MetricsFile)); strings.Count(string(metrics), "\n") != 1 {
				t.Errorf("metrics.jsonl:\n%s\nwant epoch 1's line only", metrics)
			}
			if _, err := os.Stat(filepath.Join(dir, ModelFile)); err == nil {
				t.Error("a diverged run wrote model.msgpack")
			}
			if back, err := Resume(dir, 0, kernel.Options{}, nil); err != nil || back.Epoch() != 1 {
				t.Errorf("resume: %v", err)
			}
		})
	}
	// A first epoch that diverges has nothing to keep.
	cfg := tinyConfig(data)
	cfg.LR = 1e30
	r, err := Start(cfg, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), nil); !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "no epoch was saved") {
		t.Errorf("lr 1e30: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, CheckpointFile)); err == nil {
		t.Error("lr 1e30: a checkpoint was written")
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestFailedWritesStopTheRun: a file of the run folder that cannot be
// written (a directory in its way: tests may run as root, where permissions
// do not stop a write), metrics that cannot be encoded, or a JSON line that
// cannot be written stops the run with the path and the reason.
func TestFailedWritesStopTheRun(t *testing.T) {
	data := synthetic(t, 3, 10)
	for _, name := range []string{CheckpointFile, MetricsFile, CurvesFile} {
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfig(data)
			dir := t.TempDir()
			r, err := Start(cfg, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o755); err != nil {
				t.Fatal(err)
			}
			err = r.Train(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "file exists") {
				t.Fatalf("want an error naming %s and why, got %v", path, err)
			}
			if _, err := os.Stat(filepath.Join(dir, ModelFile)); err == nil {
				t.Error("the run went on to write model.msgpack")
			}
		})
	}
	t.Run("metrics that JSON cannot hold", func(t *testing.T) {
		dir := t.TempDir()
		r, err := Start(tinyConfig(data), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.History = []EpochMetrics{{Epoch: 1, TrainLoss: math.Inf(1)}}
		path := filepath.Join(dir, MetricsFile)
		if err := r.save(); err == nil || !strings.Contains(err.Error(), path+": epoch 1") || !strings.Contains(err.Error(), "unsupported value") {
			t.Fatalf("want an error naming %s, epoch 1 and the value, got %v", path, err)
		}
	})
	t.Run("JSON lines", func(t *testing.T) {
		r, err := Start(tinyConfig(data), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		p := &Printer{W: &bytes.Buffer{}, JSON: failingWriter{}, Epochs: 3}
		err = r.Train(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), "JSON metrics of epoch 1: broken pipe") || r.Epoch() != 1 {
			t.Fatalf("want the run to stop after epoch 1 on the failed JSON line, got %v (epoch %d)", err, r.Epoch())
		}
	})
}

// TestNoValidationFigures: without validation images (-val 0) no validation
// figure is printed, written or plotted; with them, all are.
func TestNoValidationFigures(t *testing.T) {
	data := synthetic(t, 3, 10)
	for _, val := range []int{0, 2} {
		cfg := tinyConfig(data)
		cfg.ValPerClass, cfg.Epochs = val, 1
		dir := t.TempDir()
		r, err := Start(cfg, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		var log, js bytes.Buffer
		if err := r.Train(context.Background(), &Printer{W: &log, JSON: &js, Epochs: 1}); err != nil {
			t.Fatal(err)
		}
		metrics, err := os.ReadFile(filepath.Join(dir, MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		m := r.History[0]
		lines := curveLines(r.History, func(m EpochMetrics) float64 { return m.TrainLoss }, func(m EpochMetrics) float64 { return m.ValLoss }, func(m EpochMetrics) float64 { return m.ValLossLive })
		has := val > 0
		for what, got := range map[string]bool{
			"NoVal":                     !m.NoVal,
			"val_loss in metrics.jsonl": strings.Contains(string(metrics), `"val_loss":`),
			"val_acc in metrics.jsonl":  strings.Contains(string(metrics), `"val_acc":`),
			"val_acc in the JSON line":  strings.Contains(js.String(), `"val_acc":`),
			"val in the printed line":   strings.Contains(log.String(), "val loss"),
			"a validation curve":        len(lines) == 4,
		} {
			if got != has {
				t.Errorf("-val %d: %s is %v, want %v", val, what, got, has)
			}
		}
		if !strings.Contains(string(metrics), `"train_acc":`) {
			t.Errorf("-val %d: metrics.jsonl %s", val, metrics)
		}
		f, err := format.ReadFile(filepath.Join(dir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Meta["val_accuracy"]; ok != has {
			t.Errorf("-val %d: the model's val_accuracy %q", val, f.Meta["val_accuracy"])
		}
		// The line reads back with the fields it has.
		var back map[string]float64
		if err := json.Unmarshal(bytes.TrimSpace(metrics), &back); err != nil || back["epoch"] != 1 || back["lr"] != m.LR {
			t.Errorf("-val %d: metrics.jsonl %s: %v", val, metrics, err)
		}
	}
	// A run resumed from an older checkpoint (no no_val field) keeps its
	// validation figures.
	b, err := msgpack.Marshal(map[string]any{"epoch": 1, "val_acc": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	var old EpochMetrics
	if err := msgpack.Unmarshal(b, &old); err != nil || old.NoVal || old.ValAcc != 0.5 {
		t.Errorf("old metrics: %+v, %v", old, err)
	}
}

func TestEpochLine(t *testing.T) {
	m := EpochMetrics{Epoch: 2, TrainLoss: 1.5, TrainAcc: 0.5, ValLoss: 1.25, ValAcc: 0.625, LR: 0.05, ImgPerSec: 100, Seconds: 12}
	noVal := m
	noVal.ValLoss, noVal.ValAcc, noVal.NoVal = 0, 0, true
	for _, c := range []struct {
		m    EpochMetrics
		want string
	}{
		{m, "epoch 2/3: train loss 1.5000 acc 50.00% | val loss 1.2500 acc 62.50% | lr 0.05 | 100 img/s, 12s"},
		{noVal, "epoch 2/3: train loss 1.5000 acc 50.00% | lr 0.05 | 100 img/s, 12s"},
	} {
		if got := epochLine(c.m, 3); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

// TestRateText: no rate until a second has passed with images done; then
// the images over the time, and the time left at that rate.
func TestRateText(t *testing.T) {
	const none = "… img/s, ETA …"
	for _, c := range []struct {
		images  int
		elapsed time.Duration
		left    int
		want    string
	}{
		{64, 0, 1000, none},
		{64, time.Nanosecond, 1000, none}, // was 64,000,000,000 img/s
		{640, 999 * time.Millisecond, 1000, none},
		{0, 5 * time.Second, 1000, none},
		{1000, 2 * time.Second, 3000, "500 img/s, ETA 6s"},
		{128, time.Second, 0, "128 img/s, ETA 0s"},
		{50000, 100 * time.Second, 45000, "500 img/s, ETA 1m30s"},
	} {
		if got := rateText(c.images, c.elapsed, c.left); got != c.want {
			t.Errorf("rateText(%d, %v, %d) = %q, want %q", c.images, c.elapsed, c.left, got, c.want)
		}
	}
	// The bar's first line, at the end of the first step, shows no rate.
	var b bytes.Buffer
	p := &Printer{W: &b, Terminal: true, Epochs: 1}
	p.Step(1, 64, 640, 2.3, 0.1)
	if !strings.Contains(b.String(), none) {
		t.Errorf("first line %q", b.String())
	}
}

// TestScaleDropout: the input probability replaces the input's dropout, and
// the hidden one the largest hidden dropout, the others scaled with it.
func TestScaleDropout(t *testing.T) {
	large, err := kernel.ZooSpec("large-all-cnn", 10, 0.125)
	if err != nil {
		t.Fatal(err)
	}
	cifar, err := kernel.ZooSpec("all-cnn-c", 10, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	flat := tinyNet(3)
	flat.Layers[5].P = 0
	flat.Layers[0].P = 0
	for _, c := range []struct {
		name          string
		s             kernel.Spec
		input, hidden float32
		want          []float32 // the dropout layers' probabilities, in order
		err           string
	}{
		{"large ramp scaled", *large, 0, 0.3, []float32{0.06, 0.06, 0.12, 0.12, 0.18, 0.18, 0.24, 0.24, 0.3, 0.3}, ""},
		{"large ramp kept", *large, 0, 0.5, []float32{0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5}, ""},
		{"large ramp off", *large, 0, 0, []float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ""},
		{"large input", *large, 0.2, 0.5, nil, "no dropout on its input"},
		{"cifar", *cifar, 0.1, 0.3, []float32{0.1, 0.3, 0.3}, ""},
		{"all zero hidden", flat, 0.2, 0.4, []float32{0.2, 0.4}, ""},
		{"no hidden dropout", kernel.Spec{Name: "bare", Input: [3]int{3, 8, 8}, Layers: tinyNet(3).Layers[1:5]}, 0, 0.5, nil, "no hidden dropout"},
	} {
		s, err := ScaleDropout(c.s, c.input, c.hidden)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: want an error containing %q, got %v", c.name, c.err, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []float32
		for _, l := range s.Layers {
			if l.Type == kernel.TypeDropout {
				got = append(got, l.P)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-6 {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
	// The model's spec is not changed.
	const first = 8 // conv1, leaky, conv2, leaky, conv3, leaky, conv4, leaky, dropout
	if l := large.Layers[first]; l.Type != kernel.TypeDropout || l.P != 0.1 {
		t.Errorf("ScaleDropout changed its argument: %+v", l)
	}
	// The trainer applies it: the Large All-CNN's ramp is scaled, not
	// flattened.
	c := DefaultConfig()
	c.Model, c.Width, c.Dropout = "large-all-cnn", 0.125, []float32{0, 0.25}
	if err := c.resolveSpec(10); err != nil {
		t.Fatal(err)
	}
	if p := c.Spec.Layers[first].P; c.Spec.Layers[first].Type != kernel.TypeDropout || math.Abs(float64(p)-0.05) > 1e-6 {
		t.Errorf("the first hidden dropout is %v, want 0.05", p)
	}
}

// TestModelLR: Config.LR 0 is the zoo model's rate, or SpecLR for a Spec.
func TestModelLR(t *testing.T) {
	for _, c := range []struct {
		model string
		spec  bool
		want  float64
	}{
		{"all-cnn-c", false, 0.05}, {"large-all-cnn", false, 0.01}, {"imagenet-all-cnn", false, 0.01},
		{"large-all-cnn", true, SpecLR}, {"no-such-model", false, 0},
	} {
		cfg := DefaultConfig()
		cfg.Model = c.model
		if c.spec {
			cfg.Spec = tinyNet(3)
		}
		if got := cfg.ModelLR(); got != c.want {
			t.Errorf("%s (spec %v): %v, want %v", c.model, c.spec, got, c.want)
		}
	}
	data := synthetic(t, 3, 10)
	cfg := tinyConfig(data)
	cfg.LR = 0
	r, err := Start(cfg, t.TempDir(), nil)
	if err != nil || r.Cfg.LR != SpecLR {
		t.Errorf("lr 0 with a spec: %v, lr %v", err, r.Cfg.LR)
	}
	cfg.Spec, cfg.Model = kernel.Spec{}, "no-such-model"
	if _, err := Start(cfg, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "unknown model") {
		t.Errorf("unknown model: %v", err)
	}
}

// nanWeightFile is the weight file of r's net with the first value of the
// tensor named name replaced by NaN: format.Marshal refuses to write one,
// so the bytes are edited and the envelope's checksum recomputed.
func nanWeightFile(t *testing.T, r *Run, name string) []byte {
	t.Helper()
	f := format.FromNet(r.Net, r.Classes, r.Prep, format.F32, nil)
	const sentinel = float32(12345.678)
	found := false
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			f.Tensors[i].Data[0], found = sentinel, true
		}
	}
	if !found {
		t.Fatalf("no tensor %s", name)
	}
	b, err := format.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var env []any
	if err := msgpack.Unmarshal(b, &env); err != nil || len(env) != 4 {
		t.Fatalf("envelope: %v", err)
	}
	payload := env[2].([]byte)
	old := binary.LittleEndian.AppendUint32(nil, math.Float32bits(sentinel))
	if bytes.Count(payload, old) != 1 {
		t.Fatal("the sentinel is not unique in the payload")
	}
	payload = bytes.Replace(payload, old, binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN()))), 1)
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	for _, err := range []error{enc.EncodeArrayLen(4), enc.EncodeString(format.Magic), enc.EncodeUint(format.Version),
		enc.EncodeBytes(payload), enc.EncodeUint32(crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestResumeRefusesNonFinite: a checkpoint whose weights or momentum hold
// a NaN is refused by Resume and Export, naming the tensor.
func TestResumeRefusesNonFinite(t *testing.T) {
	cfg := tinyConfig(synthetic(t, 3, 10))
	cfg.Epochs = 1
	r, dir, path, good := trainedCheckpoint(t, cfg)
	for _, c := range []struct {
		name   string
		poison func(c *checkpoint)
		want   string
		is     error
	}{
		{"weight", func(c *checkpoint) { c.Model = nanWeightFile(t, r, "conv2.weight") }, `tensor "conv2.weight"`, format.ErrNotFinite},
		{"momentum", func(c *checkpoint) {
			v, _ := bytesF32(c.Velocity[2])
			v[3] = float32(math.Inf(-1))
			c.Velocity[2] = f32bytes(v)
		}, "momentum buffer of conv2.weight holds -Inf", ErrCheckpoint},
	} {
		rewriteCheckpoint(t, path, good, c.poison)
		_, err := Resume(dir, 0, kernel.Options{}, nil)
		if !errors.Is(err, ErrCheckpoint) || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: resume: want %v saying %q, got %v", c.name, c.is, c.want, err)
		}
		if c.name == "weight" {
			if _, err := Export(dir, filepath.Join(t.TempDir(), "m.msgpack"), ""); !errors.Is(err, format.ErrNotFinite) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: export: %v", c.name, err)
			}
		}
	}
	// A weight file with a NaN is refused when read, naming the tensor.
	model := filepath.Join(t.TempDir(), ModelFile)
	if err := os.WriteFile(model, nanWeightFile(t, r, "conv1.bias"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := format.ReadFile(model); !errors.Is(err, format.ErrNotFinite) || !strings.Contains(err.Error(), `tensor "conv1.bias"`) {
		t.Errorf("model file: %v", err)
	}
}

// trainedCheckpoint trains cfg in a new folder and returns the run, the
// folder, its checkpoint's path and the checkpoint's bytes.
func trainedCheckpoint(t *testing.T, cfg Config) (r *Run, dir, path string, good []byte) {
	t.Helper()
	dir = t.TempDir()
	r, err := Start(cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, CheckpointFile)
	if good, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	return r, dir, path, good
}

// rewriteCheckpoint writes to path the checkpoint good (its bytes) as edit
// changes it.
func rewriteCheckpoint(t *testing.T, path string, good []byte, edit func(*checkpoint)) {
	t.Helper()
	var c checkpoint
	if err := msgpack.Unmarshal(good, &c); err != nil {
		t.Fatal(err)
	}
	edit(&c)
	b, err := msgpack.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
