package trainer

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	"github.com/allcnn/allcnn/native"
)

// realData is the shared CIFAR-10 images beside the checkout.
const realData = "folder:../../shared/data/cifar10-train-jpg.tar.gz"

func needRealData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(strings.TrimPrefix(realData, "folder:")); err != nil {
		t.Skip("the shared CIFAR-10 images are not beside the checkout")
	}
}

// smallNet is a small all-convolutional net that learns CIFAR-10 quickly.
func smallNet() kernel.Spec {
	return kernel.Spec{Name: "small", Input: [3]int{3, 32, 32}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeConv, Name: "conv1", Out: 32, Kernel: 3, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypeConv, Name: "conv2", Out: 32, Kernel: 3, Stride: 2, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypeConv, Name: "conv3", Out: 64, Kernel: 3, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypeConv, Name: "conv4", Out: 64, Kernel: 3, Stride: 2, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypeConv, Name: "conv5", Out: 10, Kernel: 1},
		{Type: kernel.TypeGAP, Name: "gap"},
	}}
}

// TestTrainRealImages trains a small all-conv net on 4,500 of the real
// CIFAR-10 images for a few epochs and checks that the 500 held-out images
// are classified well above chance (10%), and that the model file it
// writes gives the same accuracy when read back.
func TestTrainRealImages(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about a minute")
	}
	needRealData(t)
	t.Log("BLAS:", native.Use(0))
	cfg := DefaultConfig()
	cfg.Data, cfg.PerClass, cfg.ValPerClass = realData, 500, 50
	cfg.Spec, cfg.Epochs, cfg.Batch, cfg.Milestones = smallNet(), 5, 32, nil
	dir := t.TempDir()
	r, err := Start(cfg, dir, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range r.History {
		t.Logf("epoch %d: train loss %.3f acc %.3f, val loss %.3f acc %.3f, %.0f img/s", m.Epoch, m.TrainLoss, m.TrainAcc, m.ValLoss, m.ValAcc, m.ImgPerSec)
	}
	last := r.History[len(r.History)-1]
	if last.ValAcc < 0.25 {
		t.Fatalf("held-out accuracy %.3f after %d epochs; want ≥ 0.25 (chance 0.10)", last.ValAcc, len(r.History))
	}
	f, err := format.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	net, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	_, acc := Evaluate(net, prepare(&f.Preprocess, r.val), r.val.Labels, 100)
	if acc != last.ValAcc {
		t.Fatalf("model file accuracy %v, run's %v", acc, last.ValAcc)
	}
	for _, name := range []string{CheckpointFile, MetricsFile, CurvesFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// synthetic writes a tiny folder dataset: k classes of n 8×8 images, each
// class a noisy colour.
func synthetic(t *testing.T, k, n int) string {
	t.Helper()
	return syntheticSized(t, k, n, 8)
}

// syntheticSized is synthetic with size×size images.
func syntheticSized(t *testing.T, k, n, size int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for c := 0; c < k; c++ {
		cd := filepath.Join(dir, string(rune('a'+c)))
		os.MkdirAll(cd, 0o755)
		for i := 0; i < n; i++ {
			im := image.NewRGBA(image.Rect(0, 0, size, size))
			for j := range im.Pix {
				if ch := j % 4; ch < 3 {
					im.Pix[j] = uint8(60 + 60*((c+ch)%3) + rng.IntN(60))
				} else {
					im.Pix[j] = 255
				}
			}
			name := filepath.Join(cd, string(rune('a'+i/26))+string(rune('a'+i%26))+".png")
			var b bytes.Buffer
			if err := png.Encode(&b, im); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return "folder:" + dir
}

func tinyNet(classes int) kernel.Spec {
	return kernel.Spec{Name: "tiny", Input: [3]int{3, 8, 8}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeDropout, P: 0.2},
		{Type: kernel.TypeConv, Name: "conv1", Out: 6, Kernel: 3, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypeConv, Name: "conv2", Out: 6, Kernel: 3, Stride: 2, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypeDropout, P: 0.5},
		{Type: kernel.TypeConv, Name: "conv3", Out: classes, Kernel: 1},
		{Type: kernel.TypeGAP, Name: "gap"},
	}}
}

func tinyConfig(data string) Config {
	cfg := DefaultConfig()
	cfg.Data, cfg.ValPerClass, cfg.Spec = data, 4, tinyNet(3)
	cfg.Epochs, cfg.Batch, cfg.Milestones, cfg.Augment, cfg.LR = 3, 8, []int{2}, true, 0.05
	return cfg
}

// TestResumeIsExact: three epochs straight, and one epoch then a resume for
// two more, end with identical weights and metrics.
func TestResumeIsExact(t *testing.T) {
	data := synthetic(t, 3, 20)
	cfg := tinyConfig(data)
	a := t.TempDir()
	ra, err := Start(cfg, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	b := t.TempDir()
	cfg1 := cfg
	cfg1.Epochs = 1
	rb, err := Start(cfg1, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	rb, err = Resume(b, 3, kernel.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Epoch() != 1 {
		t.Fatalf("resumed at epoch %d", rb.Epoch())
	}
	if err := rb.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range ra.Net.Params() {
		q := rb.Net.Params()[i]
		for j := range p.Data {
			if p.Data[j] != q.Data[j] {
				t.Fatalf("%s[%d]: %v straight, %v resumed", p.Name, j, p.Data[j], q.Data[j])
			}
		}
	}
	for i := range ra.History {
		x, y := ra.History[i], rb.History[i]
		x.ImgPerSec, y.ImgPerSec, x.Seconds, y.Seconds = 0, 0, 0, 0
		if x != y {
			t.Fatalf("epoch %d metrics differ: %+v vs %+v", i+1, x, y)
		}
	}
	// A finished run resumed with more epochs extends it.
	rc, err := Resume(a, 4, kernel.Options{}, nil)
	if err != nil || rc.Epoch() != 3 || rc.Cfg.Epochs != 4 {
		t.Fatalf("extend: %v, epoch %d of %d", err, rc.Epoch(), rc.Cfg.Epochs)
	}
}

func TestDivergenceKeepsCheckpoint(t *testing.T) {
	cfg := tinyConfig(synthetic(t, 3, 20))
	cfg.Epochs, cfg.Milestones = 2, []int{1}
	cfg.Gamma = 1e30 // the second epoch's rate overflows the weights
	dir := t.TempDir()
	r, err := Start(cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Train(context.Background(), nil)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("want ErrDiverged, got %v", err)
	}
	if !strings.Contains(err.Error(), "epoch 2") {
		t.Errorf("message does not say where: %v", err)
	}
	back, err := Resume(dir, 0, kernel.Options{}, nil)
	if err != nil || back.Epoch() != 1 {
		t.Fatalf("the last good checkpoint: %v (epoch %d)", err, back.Epoch())
	}
	if _, err := os.Stat(filepath.Join(dir, ModelFile)); err == nil {
		t.Error("a diverged run wrote model.msgpack")
	}
}

func TestStartErrors(t *testing.T) {
	data := synthetic(t, 3, 10)
	cases := []struct {
		name string
		edit func(c *Config, dir *string)
		want string
	}{
		{"class count", func(c *Config, _ *string) { c.Spec = tinyNet(4) }, "3 classes, the model has 4"},
		{"image size", func(c *Config, _ *string) { c.Spec.Input = [3]int{3, 16, 4} }, "8×8"},
		{"missing data", func(c *Config, _ *string) { c.Data = "folder:/nonexistent" }, "nonexistent"},
		{"bad spec", func(c *Config, _ *string) { c.Data = "mnist:x" }, "mnist"},
		{"epochs", func(c *Config, _ *string) { c.Epochs = 0 }, "epochs"},
		{"dropout", func(c *Config, _ *string) { c.Dropout = []float32{0.1} }, "dropout"},
		{"unwritable", func(c *Config, dir *string) {
			os.WriteFile(filepath.Join(*dir, "file"), nil, 0o644)
			*dir = filepath.Join(*dir, "file", "run")
		}, "output folder"},
	}
	for _, c := range cases {
		cfg := tinyConfig(data)
		dir := t.TempDir()
		c.edit(&cfg, &dir)
		_, err := Start(cfg, dir, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error containing %q, got %v", c.name, c.want, err)
		}
	}
	// A folder that already holds a run is not overwritten.
	cfg := tinyConfig(data)
	cfg.Epochs = 1
	dir := t.TempDir()
	r, _ := Start(cfg, dir, nil)
	r.Train(context.Background(), nil)
	if _, err := Start(cfg, dir, nil); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Errorf("second start in one folder: %v", err)
	}
	// A damaged checkpoint is a clear error.
	os.WriteFile(filepath.Join(dir, CheckpointFile), []byte("\x93garbage"), 0o644)
	if _, err := Resume(dir, 0, kernel.Options{}, nil); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("damaged checkpoint: %v", err)
	}
}

func TestDropoutOverrideAndZooClasses(t *testing.T) {
	c := DefaultConfig()
	c.Dropout = []float32{0.1, 0.3}
	if err := c.resolveSpec(7); err != nil {
		t.Fatal(err)
	}
	if c.Spec.Classes() != 7 || c.Spec.Layers[0].P != 0.1 {
		t.Fatalf("classes %d, input dropout %v", c.Spec.Classes(), c.Spec.Layers[0].P)
	}
	for _, l := range c.Spec.Layers[1:] {
		if l.Type == kernel.TypeDropout && l.P != 0.3 {
			t.Fatalf("hidden dropout %v", l.P)
		}
	}
}

// checkResume trains cfg for 2 epochs straight, and for 1 then resumed for
// 1 more, and wants identical weights and metrics; it returns the straight
// run.
func checkResume(t *testing.T, cfg Config) *Run {
	t.Helper()
	cfg.Epochs, cfg.Milestones = 2, []int{1}
	ra, err := Start(cfg, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	b := t.TempDir()
	cfg.Epochs = 1
	rb, err := Start(cfg, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if rb, err = Resume(b, 2, kernel.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := rb.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range ra.Net.Tensors() {
		if !slices.Equal(p.Data, rb.Net.Tensors()[i].Data) {
			t.Fatalf("%s differs between the straight and the resumed run", p.Name)
		}
	}
	if (ra.avg == nil) != (rb.avg == nil) {
		t.Fatalf("an average of the weights in one run only")
	}
	if ra.avg != nil {
		if ra.avg.steps != rb.avg.steps {
			t.Fatalf("the average has had %d updates straight, %d resumed", ra.avg.steps, rb.avg.steps)
		}
		for i, p := range ra.Net.Tensors() {
			if !slices.Equal(ra.avg.avg[i], rb.avg.avg[i]) {
				t.Fatalf("the average of %s differs between the straight and the resumed run", p.Name)
			}
		}
	}
	for i := range ra.History {
		x, y := ra.History[i], rb.History[i]
		x.ImgPerSec, y.ImgPerSec, x.Seconds, y.Seconds = 0, 0, 0, 0
		if x != y {
			t.Fatalf("epoch %d metrics differ: %+v vs %+v", i+1, x, y)
		}
	}
	return ra
}

// mapped maps each c×h×w image of x with f to a c×H×W input.
func mapped(x []float32, n, c, h, w, H, W int, f func(src, dst []float32)) []float32 {
	out := make([]float32, n*c*H*W)
	for i := range n {
		f(x[i*c*h*w:(i+1)*c*h*w], out[i*c*H*W:(i+1)*c*H*W])
	}
	return out
}

// TestCropMode: 12×12 images into an 8×8 net train on random crops and
// validate on the centre crop; the run resumes exactly.
func TestCropMode(t *testing.T) {
	cfg := tinyConfig(syntheticSized(t, 3, 12, 12))
	r := checkResume(t, cfg)
	if r.mode != cropMode || r.Prep.Kind != "channel" || r.train.H != 12 || len(r.xVal) != r.val.Len()*3*12*12 {
		t.Fatalf("mode %v, preprocess %s, %d×%d images, %d validation values", r.mode, r.Prep.Kind, r.train.H, r.train.W, len(r.xVal))
	}
	// The validation metrics are those of the centre crops.
	x := mapped(r.xVal, r.val.Len(), 3, 12, 12, 8, 8, func(src, dst []float32) { CenterCrop(src, dst, 3, 12, 12, 8) })
	loss, acc := Evaluate(r.Net, x, r.val.Labels, 256)
	if m := r.History[1]; loss != m.ValLoss || acc != m.ValAcc {
		t.Errorf("centre crops: loss %v acc %v; the run's %v, %v", loss, acc, m.ValLoss, m.ValAcc)
	}
	f, err := format.ReadFile(filepath.Join(r.Dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	// The file's input contract is the validation's placement.
	if p := f.Preprocess; p.Place != preprocess.PlaceCrop || p.Size != [2]int{12, 12} {
		t.Errorf("model file: placement %q, size %v; want crop of 12×12", p.Place, p.Size)
	}
	// Resize reaches the folder loader: 12×12 images kept at 10×10.
	cfg.Resize, cfg.Epochs = 10, 1
	r, err = Start(cfg, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.mode != cropMode || r.train.H != 10 || r.train.W != 10 {
		t.Errorf("resize 10: mode %v, %d×%d images", r.mode, r.train.H, r.train.W)
	}
}

// TestCanvasMode: 6×6 images into a 10×10 net train on the augmented canvas
// and validate centred; the run resumes exactly.
func TestCanvasMode(t *testing.T) {
	cfg := tinyConfig(syntheticSized(t, 3, 12, 6))
	cfg.Spec.Input = [3]int{3, 10, 10}
	r := checkResume(t, cfg)
	if r.mode != canvasMode || r.Prep.Kind != "channel" {
		t.Fatalf("mode %v, preprocess %s", r.mode, r.Prep.Kind)
	}
	x := mapped(r.xVal, r.val.Len(), 3, 6, 6, 10, 10, func(src, dst []float32) { CenterCanvas(src, dst, 3, 6, 6, 10, 10) })
	loss, acc := Evaluate(r.Net, x, r.val.Labels, 256)
	if m := r.History[1]; loss != m.ValLoss || acc != m.ValAcc {
		t.Errorf("centred canvas: loss %v acc %v; the run's %v, %v", loss, acc, m.ValLoss, m.ValAcc)
	}
	f, err := format.ReadFile(filepath.Join(r.Dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if p := f.Preprocess; p.Place != preprocess.PlaceCanvas || p.Size != [2]int{6, 6} {
		t.Errorf("model file: placement %q, size %v; want canvas of 6×6", p.Place, p.Size)
	}
	// Without augmentation the training canvas is centred too, and a
	// resumed run is still exact.
	cfg.Augment = false
	checkResume(t, cfg)
}

func TestStartInputErrors(t *testing.T) {
	data := synthetic(t, 3, 10) // 8×8
	cases := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"zca with crops", func(c *Config) { c.Spec.Input, c.Preprocess = [3]int{3, 6, 6}, "zca" }, "ZCA"},
		{"gcn-zca on a canvas", func(c *Config) { c.Spec.Input, c.Preprocess = [3]int{3, 10, 10}, "gcn-zca" }, "ZCA"},
		{"larger and smaller", func(c *Config) { c.Spec.Input = [3]int{3, 10, 6} }, "neither cropped nor placed"},
		{"channels", func(c *Config) { c.Spec.Input = [3]int{1, 8, 8} }, "channels differ"},
		{"resize below the input", func(c *Config) { c.Resize = 6 }, "resize 6 is smaller than the model's 8×8 input"},
		{"resize below the input, zoo model", func(c *Config) { c.Spec, c.Model, c.Resize = kernel.Spec{}, "imagenet-all-cnn", 200 }, "at least 224"},
		{"resize of cifar", func(c *Config) { c.Data, c.Resize = "cifar10:/nonexistent", 256 }, "folder: data"},
		{"negative resize", func(c *Config) { c.Resize = -1 }, "resize -1"},
	}
	for _, c := range cases {
		cfg := tinyConfig(data)
		c.edit(&cfg)
		_, err := Start(cfg, t.TempDir(), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error containing %q, got %v", c.name, c.want, err)
		}
	}
	// Resize equal to the input is the plain path, and auto preprocessing
	// there may still choose as before.
	cfg := tinyConfig(data)
	cfg.Resize = 8
	if r, err := Start(cfg, t.TempDir(), nil); err != nil || r.mode != sameSize {
		t.Errorf("resize 8 for an 8×8 input: %v", err)
	}
}
