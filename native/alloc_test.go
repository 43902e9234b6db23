package native_test

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/native"
)

// TestTrainStepAllocations: after the first step, a training step allocates
// no tensors or buffers: what remains is the goroutines' bookkeeping, a few
// kilobytes against the megabytes a step's activations take. (gonum's
// pure-Go Sgemm allocates per call, so the test needs OpenBLAS.)
func TestTrainStepAllocations(t *testing.T) {
	info := native.Setup(2)
	defer native.Setup(0)
	if !strings.HasPrefix(info.Backend, "openblas") {
		t.Skipf("needs OpenBLAS; this build has %s", info.Backend)
	}
	s, err := kernel.ZooSpec("all-cnn-c", 10, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	net, err := kernel.Build(*s)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Init("he", 1); err != nil {
		t.Fatal(err)
	}
	const batch = 8
	rng := rand.New(rand.NewPCG(1, 1))
	x := kernel.NewTensor(batch, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	dl := kernel.NewTensor(batch, 10, 1, 1)
	step := func() {
		y, _ := net.Forward(x, true)
		kernel.SoftmaxCrossEntropy(y.Data, 10, labels, dl.Data)
		net.ZeroGrad()
		if _, err := net.Backward(dl, kernel.Pass{Params: true}); err != nil {
			t.Fatal(err)
		}
	}
	step()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 5
	for range steps {
		step()
	}
	runtime.ReadMemStats(&after)
	perStep := (after.TotalAlloc - before.TotalAlloc) / steps
	activations := 0
	for _, sh := range net.Shapes {
		activations += 4 * batch * sh[0] * sh[1] * sh[2]
	}
	t.Logf("%d bytes allocated per step (%d objects); the activations take %d bytes", perStep, (after.Mallocs-before.Mallocs)/steps, activations)
	if perStep > 64<<10 {
		t.Errorf("a training step allocates %d bytes, want < 64 KiB: a buffer is not reused", perStep)
	}

	// Single-image saliency between training steps (different batch
	// sizes) reuses the same buffers too.
	x1 := &kernel.Tensor{Shape: []int{1, 3, 32, 32}, Data: x.Example(0)}
	cycle := func() {
		step()
		if _, _, err := net.Saliency(x1, []kernel.Target{{Channel: kernel.Strongest}}, kernel.Rule{ReLU: kernel.Guided}); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	runtime.ReadMemStats(&before)
	cycle()
	runtime.ReadMemStats(&after)
	if b := after.TotalAlloc - before.TotalAlloc; b > 128<<10 {
		t.Errorf("a training step and a batch-1 saliency map allocate %d bytes, want < 128 KiB", b)
	}
}
