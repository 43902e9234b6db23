package trainer

import (
	"context"
	"github.com/allcnn/allcnn/optim"
	"path/filepath"
	"slices"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
)

// fastConfig is tinyConfig with the fast recipe's settings: batch norm,
// one-cycle, Nesterov, label smoothing, augmentation with cutout.
func fastConfig(data string) Config {
	cfg := tinyConfig(data)
	cfg.Norm, cfg.LRSchedule, cfg.Warmup, cfg.Nesterov, cfg.LabelSmoothing = NormBatch, OneCycleSchedule, 0.5, true, 0.1
	cfg.LR, cfg.Augment, cfg.Cutout = 0.1, true, 3
	return cfg
}

// TestBatchNormRun: a run with batch norm resumes exactly (running
// statistics included), and writes model.msgpack folded: the plain
// architecture, whose accuracy in 'allcnn eval' terms (Evaluate on the
// file's net) is the run's last validation accuracy.
func TestBatchNormRun(t *testing.T) {
	cfg := fastConfig(synthetic(t, 3, 20))
	cfg.Epochs = 2
	r, err := Start(cfg, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !r.Net.Spec.HasBatchNorm() {
		t.Fatal("the run's net has no batchnorm layer")
	}
	// Stopped after its first epoch and resumed (a one-cycle schedule
	// depends on the run's length, so the run is not extended but
	// interrupted), it ends with the same tensors, running statistics
	// included.
	b := t.TempDir()
	rb, err := Start(cfg, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := rb.Train(ctx, stopAfter{cancel}); err != context.Canceled {
		t.Fatalf("interrupted run: %v", err)
	}
	if rb, err = Resume(b, 0, kernel.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	if rb.Epoch() != 1 {
		t.Fatalf("resumed after epoch %d", rb.Epoch())
	}
	if err := rb.Train(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Net.Tensors() {
		if q := rb.Net.Tensors()[i]; !slices.Equal(p.Data, q.Data) {
			t.Fatalf("%s differs between the straight and the resumed run", p.Name)
		}
	}

	r.Cfg.DType = string(format.F32)
	path := filepath.Join(t.TempDir(), "model.msgpack")
	if err := r.WriteModel(path); err != nil {
		t.Fatal(err)
	}
	f, err := format.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch.HasBatchNorm() {
		t.Fatal("model file keeps batchnorm layers")
	}
	plain := tinyNet(3)
	if !slices.Equal(f.Arch.Layers, plain.Layers) {
		t.Fatalf("folded architecture %+v, want the plain one %+v", f.Arch.Layers, plain.Layers)
	}
	net, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	last := r.History[len(r.History)-1]
	loss, acc := Evaluate(net, r.xVal, r.val.Labels, 7)
	if acc != last.ValAcc || abs(loss-last.ValLoss) > 1e-5 {
		t.Fatalf("folded file: loss %v acc %v; the run's validation: loss %v acc %v", loss, acc, last.ValLoss, last.ValAcc)
	}
	if f.Meta["norm"] == "" {
		t.Error("the model's metadata does not say it was folded")
	}
}

// stopAfter cancels a run after its first epoch.
type stopAfter struct{ cancel func() }

func (s stopAfter) Step(epoch, done, total int, loss, acc float64) {}
func (s stopAfter) Epoch(m EpochMetrics)                           { s.cancel() }

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestBatchNormLearnsFaster trains All-CNN-C at width ¼ on 2,500 real
// images for 3 epochs, with and without batch norm and otherwise alike
// (no dropout, step schedule, lr 0.05 for the plain net and 0.2 with batch
// norm, the rates issue 20's PyTorch probe found best), and wants batch norm
// ahead on the 500 held-out images.
func TestBatchNormLearnsFaster(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about half a minute")
	}
	needRealData(t)
	acc := map[string]float64{}
	for _, norm := range []string{NormNone, NormBatch} {
		cfg := DefaultConfig()
		cfg.Data, cfg.PerClass, cfg.ValPerClass = realData, 300, 50
		cfg.Width, cfg.Dropout, cfg.Epochs, cfg.Milestones = 0.25, []float32{0, 0}, 3, nil
		cfg.Preprocess, cfg.Augment, cfg.Norm, cfg.LR = "channel", true, norm, 0.05
		if norm == NormBatch {
			cfg.LR = 0.2
		}
		r, err := Start(cfg, t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Train(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		for _, m := range r.History {
			t.Logf("norm %s, epoch %d: train loss %.3f, val acc %.3f, %.1f s", norm, m.Epoch, m.TrainLoss, m.ValAcc, m.Seconds)
		}
		acc[norm] = r.History[len(r.History)-1].ValAcc
		if norm == NormBatch {
			checkFoldOnImages(t, r)
		}
	}
	if acc[NormBatch] < acc[NormNone]+0.05 {
		t.Fatalf("held-out accuracy with batch norm %.3f, without %.3f: want batch norm ahead by 5 points", acc[NormBatch], acc[NormNone])
	}
}

// checkFoldOnImages wants the folded net's logits on the run's held-out
// images within 1e-5 of the trained net's (evaluation mode), relative to
// the largest logit.
func checkFoldOnImages(t *testing.T, r *Run) {
	t.Helper()
	folded, err := kernel.FoldBatchNorm(r.Net)
	if err != nil {
		t.Fatal(err)
	}
	in := r.Net.Spec.Input
	dim := in[0] * in[1] * in[2]
	n := r.val.Len()
	x := &kernel.Tensor{Shape: []int{n, in[0], in[1], in[2]}, Data: r.xVal[:n*dim]}
	a, err := r.Net.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	a = a.Clone()
	b, err := folded.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	var worst, scale float64
	for i := range a.Data {
		worst = max(worst, abs(float64(a.Data[i]-b.Data[i])))
		scale = max(scale, abs(float64(a.Data[i])))
	}
	t.Logf("folded logits on %d real images: largest difference %.2g, %.2g of the largest logit %.3g", n, worst, worst/scale, scale)
	if !(worst <= 1e-5*scale) {
		t.Fatalf("folded logits differ by %.2g, %.2g of the largest logit", worst, worst/scale)
	}
}

func TestOneCycleSchedule(t *testing.T) {
	s := Schedule{Kind: OneCycleSchedule, Base: 0.2, Warmup: 2, Epochs: 10}
	for _, c := range []struct{ t, want float64 }{{0, 0}, {1, 0.1}, {2, 0.2}, {6, 0.1}, {9.5, 0.0125}, {10, 0}, {11, 0}} {
		if got := s.Rate(c.t); abs(got-c.want) > 1e-12 {
			t.Errorf("t %v: %v, want %v", c.t, got, c.want)
		}
	}
	// The step schedule is constant within an epoch.
	st := Schedule{Base: 0.05, Milestones: []int{2}, Gamma: 0.1}
	if st.Rate(1.9) != 0.05 || abs(st.Rate(2.0)-0.005) > 1e-12 {
		t.Errorf("step schedule: %v at 1.9, %v at 2.0", st.Rate(1.9), st.Rate(2.0))
	}
}

func TestNesterovStep(t *testing.T) {
	p := &kernel.Param{Data: []float32{1}, Grad: []float32{0.5}}
	o := &optim.SGD{Momentum: 0.9, WeightDecay: 0.1, Nesterov: true}
	o.Step([]*kernel.Param{p}, 0.1)
	// d = 0.1·(0.5 + 0.1) = 0.06, v = 0.06, w = 1 − (0.9·0.06 + 0.06) = 0.886.
	// d = 0.1·(0.5 + 0.0886) = 0.05886, v = 0.054 + 0.05886 = 0.11286,
	// w = 0.886 − (0.9·0.11286 + 0.05886) = 0.7255.
	o.Step([]*kernel.Param{p}, 0.1)
	if abs(float64(p.Data[0])-0.725566) > 1e-5 {
		t.Fatalf("after two Nesterov steps: %v, want 0.725566", p.Data[0])
	}
}
