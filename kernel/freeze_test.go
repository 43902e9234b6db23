package kernel

import (
	"slices"
	"testing"
)

// freezeNet is All-CNN-C at a quarter of its width: at batch 1 its conv2,
// conv4 and conv5 run Winograd and its conv7 the shifted views, the
// convolutions that keep what they derive from their weights.
func freezeNet(t *testing.T) *Net {
	t.Helper()
	s, err := ZooSpec("all-cnn-c", 10, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(*s)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init("he", 3); err != nil {
		t.Fatal(err)
	}
	return n
}

// passes returns the logits of x and its guided map.
func passes(t *testing.T, n *Net, x *Tensor) (logits, guided []float32) {
	t.Helper()
	y, err := n.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	logits = slices.Clone(y.Data)
	g, _, err := n.Saliency(x, []Target{{Channel: Strongest}}, Rule{ReLU: Guided})
	if err != nil {
		t.Fatal(err)
	}
	return logits, slices.Clone(g.Data)
}

// TestFreeze: a frozen net computes what it computes thawed, bit for bit;
// frozen, it keeps the weights it saw (so the comparisons are skipped: a
// weight changed behind its back is not seen); Thaw, Params, Tensors and
// Param end the promise and the next pass sees the change; ZeroGrad and
// the passes themselves do not.
func TestFreeze(t *testing.T) {
	n := freezeNet(t)
	x := randTensor(newRNG(5), 1, 1, 3, 32, 32)
	var conv5, conv7 *Conv2D
	for _, l := range n.Layers {
		if c, ok := l.(*Conv2D); ok && c.spec.Name == "conv5" {
			conv5 = c
		} else if ok && c.spec.Name == "conv7" {
			conv7 = c
		}
	}
	if conv5 == nil || conv7 == nil {
		t.Fatal("no conv5 or conv7")
	}
	wantY, wantG := passes(t, n, x)
	if conv7.shift == nil || conv5.wino == nil || (conv5.winoData == nil && !conv5.wino.AdjointOK()) {
		t.Fatalf("conv7 shifted %v, conv5 Winograd %v/%v: the test does not reach the caches", conv7.shift != nil, conv5.wino != nil, conv5.winoData != nil)
	}
	n.Freeze()
	if !n.Frozen() {
		t.Fatal("Frozen after Freeze = false")
	}
	for range 2 {
		y, g := passes(t, n, x)
		if !slices.Equal(y, wantY) || !slices.Equal(g, wantG) {
			t.Fatal("a frozen net's logits or guided map differ from the thawed net's")
		}
	}
	n.ZeroGrad()
	if !n.Frozen() {
		t.Fatal("ZeroGrad thawed the net")
	}

	// Behind Freeze's back: the frozen net keeps what it had.
	for _, c := range []*Conv2D{conv5, conv7} {
		for i := range c.Weight.Data {
			c.Weight.Data[i] *= -1
		}
	}
	if y, g := passes(t, n, x); !slices.Equal(y, wantY) || !slices.Equal(g, wantG) {
		t.Fatal("a frozen net saw weights changed behind its back: Freeze does not skip the comparisons")
	}

	fresh := freezeNet(t)
	for i, p := range fresh.Tensors() {
		copy(p.Data, n.tensors()[i].Data)
	}
	wantY2, wantG2 := passes(t, fresh, x)
	if slices.Equal(wantY2, wantY) {
		t.Fatal("negating conv5 and conv7 left the logits as they were")
	}
	for name, thaw := range map[string]func(){
		"Thaw":    n.Thaw,
		"Params":  func() { n.Params() },
		"Tensors": func() { n.Tensors() },
		"Param":   func() { n.Param("conv7.weight") },
	} {
		n.Freeze()
		passes(t, n, x)
		thaw()
		if n.Frozen() {
			t.Fatalf("%s left the net frozen", name)
		}
		if y, g := passes(t, n, x); !slices.Equal(y, wantY2) || !slices.Equal(g, wantG2) {
			t.Fatalf("after %s: the logits or the guided map are not those of the changed weights", name)
		}
		// Change them again while thawed, so that the next case starts
		// from weights the caches have not seen.
		for _, c := range []*Conv2D{conv5, conv7} {
			for i := range c.Weight.Data {
				c.Weight.Data[i] *= -1
			}
		}
		wantY2, wantG2 = passes(t, n, x)
	}

	// Weights changed while thawed and then frozen: the first frozen pass
	// compares them.
	for _, c := range []*Conv2D{conv5, conv7} {
		for i := range c.Weight.Data {
			c.Weight.Data[i] *= -1
		}
	}
	n.Freeze()
	for i, p := range fresh.Tensors() {
		copy(p.Data, n.tensors()[i].Data)
	}
	wantY3, wantG3 := passes(t, fresh, x)
	if y, g := passes(t, n, x); !slices.Equal(y, wantY3) || !slices.Equal(g, wantG3) {
		t.Fatal("the first pass after Freeze ran on the weights of before")
	}
}

// TestClone: a clone computes what its net computes, bit for bit, owns its
// tensors, and cloning leaves a frozen net frozen.
func TestClone(t *testing.T) {
	n := freezeNet(t)
	x := randTensor(newRNG(6), 1, 1, 3, 32, 32)
	n.Freeze()
	c, err := n.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if !n.Frozen() || c.Frozen() {
		t.Fatalf("after Clone: net frozen %v, clone frozen %v; want true, false", n.Frozen(), c.Frozen())
	}
	wantY, wantG := passes(t, n, x)
	if y, g := passes(t, c, x); !slices.Equal(y, wantY) || !slices.Equal(g, wantG) {
		t.Fatal("the clone's logits or guided map differ from its net's")
	}
	for _, p := range c.Params() {
		for i := range p.Data {
			p.Data[i] = 0
		}
	}
	if y, _ := passes(t, n, x); !slices.Equal(y, wantY) {
		t.Fatal("zeroing the clone's weights changed its net's logits")
	}
}
