package kernel

import (
	"errors"
	"reflect"
	"testing"
)

// fixtureNet is NOTES.md §7 (captum's guided-backprop and deconvolution
// tests, re-derived by hand): one 3×3 conv 1→2 with all weights 1 and biases
// [−50, −75], ReLU, a linear 8→4 layer with every row [1,1,1,1,1,−1,−1,−1]
// and zero bias, ReLU. The linear layer is a 2×2 valid convolution over the
// 2×2×2 map: flattening C×H×W puts channel 0 in the first four entries.
func fixtureNet(t *testing.T) *Net {
	t.Helper()
	n, err := Build(Spec{Name: "fixture", Input: [3]int{1, 4, 4}, Layers: []LayerSpec{
		{Type: TypeConv, Name: "conv1", Out: 2, Kernel: 3},
		{Type: TypeReLU},
		{Type: TypeConv, Name: "fc", Out: 4, Kernel: 2},
		{Type: TypeReLU},
	}})
	requireNoError(t, err)
	c1, fc := n.Layers[0].(*Conv2D), n.Layers[2].(*Conv2D)
	for i := range c1.Weight.Data {
		c1.Weight.Data[i] = 1
	}
	c1.Bias.Data[0], c1.Bias.Data[1] = -50, -75
	row := []float32{1, 1, 1, 1, 1, -1, -1, -1}
	for o := 0; o < 4; o++ {
		copy(fc.Weight.Data[o*8:], row)
	}
	return n
}

func fixtureInput(offset float32) *Tensor {
	x := NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(i) + offset
	}
	return x
}

func saliency(t *testing.T, n *Net, x *Tensor, tg Target, r ReLURule) *Tensor {
	t.Helper()
	s, _, err := n.Saliency(x, []Target{tg}, Rule{ReLU: r})
	requireNoError(t, err)
	return s
}

func TestFixturePaper7(t *testing.T) {
	n := fixtureNet(t)
	y, err := n.Forward(fixtureInput(0), false)
	requireNoError(t, err)
	requireEqual(t, float32(54), y.Data[0], "output 0")

	cases := []struct {
		rule   ReLURule
		offset float32
		want   [][]float32
	}{
		{Guided, 0, [][]float32{{0, 1, 1, 1}, {1, 3, 3, 2}, {1, 3, 3, 2}, {1, 2, 2, 1}}},
		{Deconvnet, 0, [][]float32{{2, 3, 3, 1}, {3, 5, 5, 2}, {3, 5, 5, 2}, {1, 2, 2, 1}}},
		{Gradient, 0, [][]float32{{0, 1, 1, 1}, {0, 1, 1, 1}, {0, 1, 1, 1}, {0, 0, 0, 0}}},
		{Guided, 1, [][]float32{{1, 2, 2, 1}, {2, 4, 4, 2}, {2, 4, 4, 2}, {1, 2, 2, 1}}},
		{Deconvnet, 1, [][]float32{{2, 3, 3, 1}, {3, 5, 5, 2}, {3, 5, 5, 2}, {1, 2, 2, 1}}},
	}
	for _, c := range cases {
		got := saliency(t, n, fixtureInput(c.offset), Target{Channel: 0}, c.rule)
		requireGrid(t, c.want, got, c.rule.String())
	}
}

// TestRulesAreDistinct fails if any rule is swapped for another: on the
// fixture each rule gives a different map.
func TestRulesAreDistinct(t *testing.T) {
	n := fixtureNet(t)
	x := fixtureInput(0)
	maps := map[ReLURule]*Tensor{}
	for _, r := range []ReLURule{Gradient, Deconvnet, Guided} {
		maps[r] = saliency(t, n, x, Target{Channel: 0}, r)
	}
	for _, a := range []ReLURule{Gradient, Deconvnet, Guided} {
		for _, b := range []ReLURule{Gradient, Deconvnet, Guided} {
			if a < b && maxDiff(maps[a].Data, maps[b].Data) == 0 {
				t.Errorf("%v and %v agree on the fixture", a, b)
			}
		}
	}
}

func TestTargetLayerEqualsClass(t *testing.T) {
	n := fixtureNet(t)
	x := fixtureInput(0)
	for _, r := range []ReLURule{Gradient, Deconvnet, Guided} {
		for c := 0; c < 4; c++ {
			a := saliency(t, n, x, Target{Channel: c}, r)
			b := saliency(t, n, x, Target{Layer: "fc", Channel: c}, r)
			at := saliency(t, n, x, Target{Layer: "fc", Channel: c, At: &[2]int{0, 0}}, r)
			if maxDiff(a.Data, b.Data) != 0 || maxDiff(a.Data, at.Data) != 0 {
				t.Errorf("%v: class %d differs from unit fc/%d", r, c, c)
			}
		}
	}
}

// smallNet is a seeded all-conv net with a pool, for the properties below.
func smallNet(t *testing.T) *Net {
	n, err := Build(Spec{Name: "small", Input: [3]int{3, 9, 9}, Layers: []LayerSpec{
		{Type: TypeDropout, P: 0.2},
		{Type: TypeConv, Name: "conv1", Out: 6, Kernel: 3, Pad: 1}, {Type: TypeReLU},
		{Type: TypeMaxPool, Name: "pool1", Kernel: 3, Stride: 2, Pad: 1},
		{Type: TypeConv, Name: "conv2", Out: 8, Kernel: 3, Stride: 2, Pad: 1}, {Type: TypeReLU},
		{Type: TypeConv, Name: "conv3", Out: 5, Kernel: 1}, {Type: TypeReLU},
		{Type: TypeGAP, Name: "gap"},
	}})
	requireNoError(t, err)
	requireNoError(t, n.Init("he", 1))
	return n
}

func TestSaliencyBatchEqualsOneByOne(t *testing.T) {
	n := smallNet(t)
	x := randTensor(newRNG(2), 1, 3, 3, 9, 9)
	targets := []Target{{Channel: 1}, {Channel: 4}, {Channel: 0}}
	units := []Target{{Layer: "conv2", Channel: 3}, {Layer: "conv2", Channel: 7, At: &[2]int{1, 2}}, {Layer: "conv2", Channel: 0}}
	for _, rule := range []Rule{{Gradient, Switches}, {Deconvnet, Switches}, {Guided, NoSwitches}} {
		for _, tg := range [][]Target{targets, units} {
			all, _, err := n.Saliency(x, tg, rule)
			requireNoError(t, err)
			for i := range tg {
				xi := &Tensor{Shape: []int{1, 3, 9, 9}, Data: x.Example(i)}
				one, _, err := n.Saliency(xi, tg[i:i+1], rule)
				requireNoError(t, err)
				if d := maxDiff(one.Data, all.Example(i)); d > 1e-6 {
					t.Errorf("%v %v example %d: batch differs by %g", rule, tg[i], i, d)
				}
			}
		}
	}
}

// TestGuidedEqualsGradientWhenAllActive: with every rectifier active and
// every signal positive, the three rules coincide.
func TestGuidedEqualsGradientWhenAllActive(t *testing.T) {
	n, err := Build(Spec{Input: [3]int{2, 5, 5}, Layers: []LayerSpec{
		{Type: TypeConv, Name: "conv1", Out: 3, Kernel: 3, Pad: 1}, {Type: TypeReLU},
		{Type: TypeConv, Name: "conv2", Out: 2, Kernel: 3, Stride: 2, Pad: 1}, {Type: TypeReLU},
		{Type: TypeGAP},
	}})
	requireNoError(t, err)
	rng := newRNG(9)
	for _, p := range n.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.Float64()) // positive weights and biases
		}
	}
	x := NewTensor(1, 2, 5, 5)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64())
	}
	g := saliency(t, n, x, Target{Channel: 1}, Gradient)
	for _, r := range []ReLURule{Guided, Deconvnet} {
		if d := maxDiff(g.Data, saliency(t, n, x, Target{Channel: 1}, r).Data); d > 1e-6 {
			t.Errorf("%v differs from gradient by %g with all units active", r, d)
		}
	}
}

// TestRectifiedSignalsNonNegative: under guided and deconvnet every signal
// leaving a rectifier (toward its input) is ≥ 0.
func TestRectifiedSignalsNonNegative(t *testing.T) {
	n := smallNet(t)
	x := randTensor(newRNG(4), 1, 2, 3, 9, 9)
	for _, r := range []ReLURule{Guided, Deconvnet} {
		_, _, err := n.Saliency(x, []Target{{Channel: 2}, {Layer: "", Channel: 0}}, Rule{ReLU: r})
		requireNoError(t, err)
		seen := 0
		for _, l := range n.Layers {
			if relu, ok := l.(*ReLU); ok {
				seen++
				for _, v := range relu.dx.Data {
					if v < 0 {
						t.Fatalf("%v: negative signal %v below a rectifier", r, v)
					}
				}
			}
		}
		requireEqual(t, 3, seen, "rectifiers")
	}
}

// TestRuleUnaffectedByError: a failed call leaves nothing behind; the next
// plain call is ordinary backpropagation.
func TestRuleUnaffectedByError(t *testing.T) {
	n := fixtureNet(t)
	x := fixtureInput(0)
	want := saliency(t, n, x, Target{Channel: 0}, Gradient)
	bad := []Target{{Channel: 9}}
	for _, r := range []ReLURule{Deconvnet, Guided} {
		_, _, err := n.Saliency(x, bad, Rule{ReLU: r})
		if !errors.Is(err, ErrTarget) {
			t.Fatalf("want ErrTarget, got %v", err)
		}
		_, _, err = n.Saliency(x, []Target{{Layer: "nope"}}, Rule{ReLU: r})
		if !errors.Is(err, ErrTarget) {
			t.Fatalf("want ErrTarget, got %v", err)
		}
		got := saliency(t, n, x, Target{Channel: 0}, Rule{}.ReLU)
		requireGrid(t, rowsOf(want), got, "gradient after a failed "+r.String())
	}
}

func TestSaliencyErrors(t *testing.T) {
	n := smallNet(t)
	x := randTensor(newRNG(4), 1, 2, 3, 9, 9)
	cases := []struct {
		name    string
		targets []Target
	}{
		{"count", []Target{{Channel: 0}}},
		{"channel", []Target{{Channel: 0}, {Channel: 5}}},
		{"negative", []Target{{Channel: -2}, {Channel: 0}}},
		{"position", []Target{{Layer: "conv1", At: &[2]int{9, 0}}, {Layer: "conv1"}}},
		{"mixed layers", []Target{{Layer: "conv1"}, {Layer: "conv2"}}},
		{"unknown layer", []Target{{Layer: "conv9"}, {Layer: "conv9"}}},
	}
	for _, c := range cases {
		if _, _, err := n.Saliency(x, c.targets, Rule{}); !errors.Is(err, ErrTarget) {
			t.Errorf("%s: want ErrTarget, got %v", c.name, err)
		}
	}
	if _, _, err := n.Saliency(NewTensor(2, 1, 9, 9), []Target{{}, {}}, Rule{}); !errors.Is(err, ErrShape) {
		t.Errorf("wrong input shape: want ErrShape, got %v", err)
	}
}

// TestMaxPoolRules pins the two pool rules on a hand-made 4×4 map.
func TestMaxPoolRules(t *testing.T) {
	p := NewMaxPool("p", 2, 2, 0, false)
	x := grid([][]float32{{1, 5, 0, 0}, {2, 3, 0, 7}, {9, 1, 4, 4}, {1, 1, 4, 8}})
	y := p.Forward(x, false)
	requireGrid(t, [][]float32{{5, 7}, {9, 8}}, y, "forward")
	dy := grid([][]float32{{1, 2}, {3, 4}})
	requireGrid(t, [][]float32{{0, 1, 0, 0}, {0, 0, 0, 2}, {3, 0, 0, 0}, {0, 0, 0, 4}},
		p.Backward(dy, Pass{Input: true, Rule: Rule{Pool: Switches}}), "switches")
	requireGrid(t, [][]float32{{.25, .25, .5, .5}, {.25, .25, .5, .5}, {.75, .75, 1, 1}, {.75, .75, 1, 1}},
		p.Backward(dy, Pass{Input: true, Rule: Rule{Pool: NoSwitches}}), "no switches")
	// Padding never wins, and the no-switch rule spreads over in-bounds inputs only.
	q := NewMaxPool("q", 3, 2, 1, false)
	x = grid([][]float32{{-1, -2}, {-3, -4}})
	requireGrid(t, [][]float32{{-1}}, q.Forward(x, false), "padded forward")
	requireGrid(t, [][]float32{{.25, .25}, {.25, .25}}, q.Backward(grid([][]float32{{1}}), Pass{Input: true, Rule: Rule{Pool: NoSwitches}}), "padded spread")
}

// TestPatternOfFirstLayerIsItsFilter: the unconditioned deconvnet pattern of
// a conv1 unit is that unit's filter, placed on its receptive field.
func TestPatternOfFirstLayerIsItsFilter(t *testing.T) {
	s, _ := ZooSpec("all-cnn-c", 10, 0.1)
	n, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, n.Init("he", 5))
	w := n.Param("conv1.weight")
	for _, c := range []int{0, 3, 9} {
		p, err := n.Pattern("conv1", c)
		requireNoError(t, err)
		// The centre of the 32×32 map is (16, 16); a 3×3 "same" filter sees
		// rows and columns 15..17 of each input channel.
		var want, rest float64
		for ch := 0; ch < 3; ch++ {
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					v := float64(p.Data[(ch*32+y)*32+x])
					if y >= 15 && y <= 17 && x >= 15 && x <= 17 {
						f := float64(w.Data[((c*3+ch)*3+y-15)*3+x-15])
						want = max(want, abs(v-f))
					} else {
						rest = max(rest, abs(v))
					}
				}
			}
		}
		if want > 1e-6 || rest != 0 {
			t.Fatalf("unit %d: pattern differs from the filter by %g, %g outside", c, want, rest)
		}
	}
	// Higher units reconstruct something nonzero too.
	p, err := n.Pattern("conv3", 1)
	requireNoError(t, err)
	if maxDiff(p.Data, make([]float32, len(p.Data))) == 0 {
		t.Fatal("conv3 pattern is blank")
	}
}

func abs(x float64) float64 { return max(x, -x) }

// TestStrongestTarget: Strongest picks the top class, or the most active
// channel of a layer, per example.
func TestStrongestTarget(t *testing.T) {
	n := smallNet(t)
	x := randTensor(newRNG(6), 1, 2, 3, 9, 9)
	y, err := n.Forward(x, false)
	requireNoError(t, err)
	top := []int{Argmax(y.Example(0)), Argmax(y.Example(1))}
	got, used, err := n.Saliency(x, []Target{{Channel: Strongest}, {Channel: Strongest}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	want, _, err := n.Saliency(x, []Target{{Channel: top[0]}, {Channel: top[1]}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	requireEqual(t, 0.0, maxDiff(want.Data, got.Data), "top class")
	// The targets explained come back resolved: the top classes.
	if len(used) != 2 || used[0].Channel != top[0] || used[1].Channel != top[1] || used[0].At != nil {
		t.Fatalf("resolved %v, want classes %v", used, top)
	}

	i, _ := n.Unit("conv2")
	act, _ := n.ForwardTo(x, i, false)
	hw := act.H() * act.W()
	ch := Argmax(act.Example(1)) / hw
	got, used, err = n.Saliency(x, []Target{{Layer: "conv2", Channel: 0}, {Layer: "conv2", Channel: Strongest}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	// Resolved: channel 0 at its strongest position, and the most active
	// channel at the layer's strongest position; Resolve agrees.
	p0, p1 := Argmax(act.Example(0)[:hw]), Argmax(act.Example(1))%hw
	if used[0].Channel != 0 || *used[0].At != [2]int{p0 / act.W(), p0 % act.W()} || used[1].Channel != ch || *used[1].At != [2]int{p1 / act.W(), p1 % act.W()} {
		t.Fatalf("resolved %v", used)
	}
	res, err := n.Resolve(x, []Target{{Layer: "conv2", Channel: 0}, {Layer: "conv2", Channel: Strongest}})
	requireNoError(t, err)
	if *res[0].At != *used[0].At || *res[1].At != *used[1].At || res[1].Channel != ch {
		t.Fatalf("Resolve %v, Saliency %v", res, used)
	}
	want, _, err = n.Saliency(x, []Target{{Layer: "conv2", Channel: 0}, {Layer: "conv2", Channel: ch}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	requireEqual(t, 0.0, maxDiff(want.Data, got.Data), "strongest unit")
	if _, _, err := n.Saliency(x, []Target{{Channel: -2}, {}}, Rule{}); !errors.Is(err, ErrTarget) {
		t.Fatalf("channel −2: %v", err)
	}
}

// TestResolveResolved: targets that name their channel, and their position
// where the map is larger than 1×1, resolve to themselves without a forward
// pass, as they do with one; any other target runs the pass. A wrong input
// is still refused.
func TestResolveResolved(t *testing.T) {
	x := randTensor(newRNG(5), 1, 2, 3, 9, 9)
	at := [2]int{1, 2}
	cases := []struct {
		targets []Target
		forward bool
	}{
		{[]Target{{Channel: 1}, {Channel: 4}}, false},
		{[]Target{{Layer: "conv2", Channel: 3, At: &at}, {Layer: "conv2", Channel: 0, At: &at}}, false},
		{[]Target{{Layer: "gap", Channel: 2}, {Layer: "gap", Channel: 2}}, false}, // 1×1: the position is (0, 0)
		{[]Target{{Channel: Strongest}, {Channel: 4}}, true},
		{[]Target{{Layer: "conv2", Channel: 3}, {Layer: "conv2", Channel: 3, At: &at}}, true},
		{[]Target{{Layer: "conv2", Channel: Strongest, At: &at}, {Layer: "conv2", Channel: 1, At: &at}}, true},
	}
	for _, c := range cases {
		n := smallNet(t)
		got, err := n.Resolve(x, c.targets)
		requireNoError(t, err)
		if ran := n.ran > 0; ran != c.forward {
			t.Errorf("%v: forward pass %v, want %v", c.targets, ran, c.forward)
		}
		_, want, _, err := n.resolve(x, c.targets, true)
		requireNoError(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: resolved to %v, with the forward pass %v", c.targets, got, want)
		}
	}
	n := smallNet(t)
	bad := randTensor(newRNG(5), 1, 2, 3, 8, 9)
	if _, err := n.Resolve(bad, []Target{{Channel: 1}, {Channel: 2}}); !errors.Is(err, ErrShape) {
		t.Errorf("input %v: %v, want ErrShape", bad.Shape, err)
	}
}
