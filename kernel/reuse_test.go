package kernel

import "testing"

// TestBatchSizeSwitch: going back and forth between batch sizes gives the
// results of a fresh net and reuses the layers' memory.
func TestBatchSizeSwitch(t *testing.T) {
	t.Parallel()
	s, err := ZooSpec("all-cnn-c", 10, 0.5)
	requireNoError(t, err)
	net, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, net.Init("he", 1))
	x3 := randTensor(newRNG(5), 1, 3, 3, 32, 32)
	x1 := &Tensor{Shape: []int{1, 3, 32, 32}, Data: x3.Example(1)}
	y, err := net.Forward(x3, false)
	requireNoError(t, err)
	want3 := y.Clone().Data
	y, err = net.Forward(x1, false)
	requireNoError(t, err)
	if d := maxDiff(y.Data, want3[10:20]); d > 1e-5 {
		t.Errorf("batch 1 after batch 3: example differs by %g", d)
	}
	// Every layer output of the batch-1 pass lives in the batch-3 pass's
	// memory.
	for i, l := range net.Layers {
		if c, ok := l.(*Conv2D); ok {
			p1 := &c.y.Data[0]
			net.Forward(x3, false)
			if &c.y.Data[0] != p1 {
				t.Errorf("layer %d (%s): batch 3 after batch 1 got new memory", i, c.spec.Name)
			}
			net.Forward(x1, false)
		}
	}
	y, err = net.Forward(x3, false)
	requireNoError(t, err)
	if d := maxDiff(y.Data, want3); d > 0 {
		t.Errorf("batch 3 after batch 1 differs by %g", d)
	}
}
