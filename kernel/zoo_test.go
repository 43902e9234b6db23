package kernel

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// paperTable is NOTES.md §2: exact parameters and forward MACs (in units of
// 0.1 M, as the table rounds) with 10 classes, and 1000 for the ImageNet net.
var paperTable = []struct {
	name   string
	params int
	macs   float64 // millions, as printed
}{
	{"model-a", 839242, 138.7}, {"strided-cnn-a", 839242, 44.7}, {"convpool-cnn-a", 1254250, 308.5}, {"all-cnn-a", 1254250, 181.1},
	{"model-b", 885610, 157.6}, {"strided-cnn-b", 885610, 143.4}, {"convpool-cnn-b", 1300618, 327.4}, {"all-cnn-b", 1300618, 200.0},
	{"model-c", 954730, 228.3}, {"strided-cnn-c", 954730, 100.9}, {"convpool-cnn-c", 1369738, 398.2}, {"all-cnn-c", 1369738, 270.8},
	{"large-all-cnn", 77455690, 26470}, {"imagenet-all-cnn", 9372840, 1210},
}

func TestZooMatchesPaperTable(t *testing.T) {
	if got := len(ZooNames()); got != len(paperTable) {
		t.Fatalf("%d zoo models, table has %d", got, len(paperTable))
	}
	for i, row := range paperTable {
		requireEqual(t, row.name, ZooNames()[i], "order")
		s, err := ZooSpec(row.name, 0, 1)
		requireNoError(t, err)
		p, err := s.ParamCount()
		requireNoError(t, err)
		requireEqual(t, row.params, p, row.name+" params")
		m, err := s.MACs()
		requireNoError(t, err)
		// The table prints 0.1 M for CIFAR, 0.01 G for the big nets.
		unit := 0.1
		if row.macs > 1000 {
			unit = 10
		}
		if d := float64(m)/1e6 - row.macs; d < -unit/2 || d > unit/2 {
			t.Errorf("%s: %.1f M MACs, table %.1f M", row.name, float64(m)/1e6, row.macs)
		}
		sh, _ := s.Shapes()
		requireEqual(t, [3]int{DefaultClasses(row.name), 1, 1}, sh[len(sh)-1], row.name+" output")
	}
}

func TestZooStructure(t *testing.T) {
	s, err := ZooSpec("all-cnn-c", 100, 0.5)
	requireNoError(t, err)
	requireEqual(t, 100, s.Classes(), "classes")
	n, err := Build(*s)
	requireNoError(t, err)
	requireEqual(t, "conv1,conv2,conv3,conv4,conv5,conv6,conv7,conv8,conv9,gap", strings.Join(n.Names(), ","), "names")
	requireEqual(t, 48, n.Shapes[1][0], "half width conv1")
	// Dropout 0.2 on the input, 0.5 after each layer that replaces a pool.
	var drops []string
	for i, l := range s.Layers {
		if l.Type == TypeDropout {
			prev := "input"
			if i > 0 {
				prev = s.Layers[i-2].Name
			}
			drops = append(drops, prev)
		}
	}
	requireEqual(t, "input,conv3,conv6", strings.Join(drops, ","), "dropout placement")
	for _, name := range []string{"strided-cnn-a", "model-b", "convpool-cnn-c"} {
		s, err := ZooSpec(name, 10, 1)
		requireNoError(t, err)
		sh, _ := s.Shapes()
		requireEqual(t, [3]int{10, 1, 1}, sh[len(sh)-1], name)
	}
	u, err := n.Unit("conv6")
	requireNoError(t, err)
	requireEqual(t, TypeReLU, s.Layers[u].Type, "conv6 unit is its rectified output")
}

// TestZooDefaultLR: every zoo model has a positive default rate, one the
// paper searched (NOTES.md §5); unknown names have none.
func TestZooDefaultLR(t *testing.T) {
	for _, c := range []struct {
		name string
		want float64
	}{
		{"all-cnn-c", 0.05}, {"model-a", 0.05}, {"strided-cnn-b", 0.05}, {"ALL-CNN-C", 0.05},
		{"large-all-cnn", 0.01}, {"imagenet-all-cnn", 0.01}, {"all-cnn-d", 0},
	} {
		requireEqual(t, c.want, DefaultLR(c.name), c.name)
	}
	for _, name := range ZooNames() {
		lr := DefaultLR(name)
		if lr != 0.25 && lr != 0.1 && lr != 0.05 && lr != 0.01 {
			t.Errorf("%s: default lr %v is not one the paper searched", name, lr)
		}
	}
}

// TestLargeAllCNNDropoutRamp: paper Table 5 (NOTES.md §3), no input dropout, then 0.1 after
// the stride-1 convs of the 640 block rising by 0.1 per block, 0.5 on the
// last two layers.
func TestLargeAllCNNDropoutRamp(t *testing.T) {
	s, err := ZooSpec("large-all-cnn", 10, 0.125)
	requireNoError(t, err)
	var ramp []string
	for i, l := range s.Layers {
		if l.Type == TypeDropout {
			requireEqual(t, true, i > 0, "dropout is not on the input")
			ramp = append(ramp, fmt.Sprintf("%s:%g", s.Layers[i-2].Name, l.P))
		}
	}
	want := "conv4:0.1,conv5:0.1,conv7:0.2,conv8:0.2,conv10:0.3,conv11:0.3,conv13:0.4,conv14:0.4,conv16:0.5,conv17:0.5"
	requireEqual(t, want, strings.Join(ramp, ","), "ramp")
}

func TestZooErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		classes int
		width   float64
	}{{"all-cnn-d", 10, 1}, {"all-cnn-c", -1, 1}, {"all-cnn-c", 10, 0}, {"all-cnn-c", 10, -2}} {
		if _, err := ZooSpec(c.name, c.classes, c.width); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	conv := LayerSpec{Type: TypeConv, Name: "c", Out: 2, Kernel: 3, Pad: 1}
	cases := []struct {
		name string
		s    Spec
	}{
		{"no layers", Spec{Input: [3]int{1, 4, 4}}},
		{"zero input", Spec{Input: [3]int{0, 4, 4}, Layers: []LayerSpec{conv}}},
		{"huge input", Spec{Input: [3]int{1, 1 << 20, 4}, Layers: []LayerSpec{conv}}},
		{"unknown type", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: "dense"}}}},
		{"unnamed conv", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeConv, Out: 1, Kernel: 1}}}},
		{"duplicate name", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{conv, conv}}},
		{"kernel too big", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeConv, Name: "c", Out: 1, Kernel: 5}}}},
		{"pad ≥ kernel", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeConv, Name: "c", Out: 1, Kernel: 1, Pad: 1}}}},
		{"zero channels", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeConv, Name: "c", Kernel: 1}}}},
		{"negative stride", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeMaxPool, Kernel: 2, Stride: -1}}}},
		{"dropout 1", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeDropout, P: 1}}}},
		{"slope NaN", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeLeakyReLU, Slope: float32(nan())}}}},
		{"slash in name", Spec{Input: [3]int{1, 4, 4}, Layers: []LayerSpec{{Type: TypeConv, Name: "a/b", Out: 1, Kernel: 1}}}},
	}
	for _, c := range cases {
		if _, err := c.s.Shapes(); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: want ErrSpec, got %v", c.name, err)
		}
		if _, err := Build(c.s); err == nil {
			t.Errorf("%s: Build accepted it", c.name)
		}
	}
}

func nan() float64 { var z float64; return z / z }

func TestParseSpec(t *testing.T) {
	js := `{"name":"tiny","input":[3,8,8],"layers":[
		{"type":"conv","name":"conv1","out":4,"kernel":3,"pad":1},{"type":"relu"},
		{"type":"conv","name":"conv2","out":4,"kernel":3,"stride":2,"pad":1},{"type":"leaky_relu","slope":0.1},
		{"type":"conv","name":"conv3","out":10,"kernel":1},{"type":"gap"}]}`
	s, err := ParseSpec(strings.NewReader(js))
	requireNoError(t, err)
	requireEqual(t, 10, s.Classes(), "classes")
	n, err := Build(*s)
	requireNoError(t, err)
	requireEqual(t, [3]int{4, 4, 4}, n.Shapes[2], "stride-2 shape")
	for _, bad := range []string{`{"input":[3,8,8],"layers":[{"type":"conv","nme":"x"}]}`, `{"input":[3,8,8],"layers":[]}`, `not json`} {
		if _, err := ParseSpec(strings.NewReader(bad)); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: want ErrSpec, got %v", bad, err)
		}
	}
}

func TestPoolOut(t *testing.T) {
	for _, c := range []struct {
		in, k, s, p int
		ceil        bool
		want        int
	}{
		{32, 3, 2, 1, false, 16}, {16, 3, 2, 1, false, 8}, // PyTorch MaxPool2d(3, 2, 1)
		{32, 3, 2, 0, true, 16}, {16, 3, 2, 0, true, 8}, // Caffe's ceil rounding, same sizes
		{32, 3, 2, 0, false, 15}, {6, 2, 2, 0, true, 3}, {5, 2, 2, 0, true, 3}, {5, 2, 2, 1, true, 3},
	} {
		requireEqual(t, c.want, PoolOut(c.in, c.k, c.s, c.p, c.ceil), "PoolOut")
	}
}

func TestDropout(t *testing.T) {
	d := NewDropout("d", 0.5, 1, 0)
	x := NewTensor(1, 1, 100, 100)
	for i := range x.Data {
		x.Data[i] = 1
	}
	y := d.Forward(x, true).Clone()
	kept := 0
	for _, v := range y.Data {
		switch v {
		case 0:
		case 2:
			kept++
		default:
			t.Fatalf("dropout output %v, want 0 or 2", v)
		}
	}
	if kept < 4800 || kept > 5200 {
		t.Fatalf("kept %d of 10000 at p=0.5", kept)
	}
	// Same seed, same mask; another seed, another mask.
	d2 := NewDropout("d", 0.5, 1, 0)
	requireEqual(t, 0.0, maxDiff(y.Data, d2.Forward(x, true).Data), "same seed")
	d3 := NewDropout("d", 0.5, 2, 0)
	if maxDiff(y.Data, d3.Forward(x, true).Data) == 0 {
		t.Fatal("different seeds gave the same mask")
	}
	// Evaluation is the identity.
	if got := d.Forward(x, false); got != x {
		t.Fatal("eval dropout is not the identity")
	}
}

// TestInitClassLayer: a rectified class layer starts with small weights and
// a positive bias (every unit active); an unrectified one gets the scheme.
func TestInitClassLayer(t *testing.T) {
	for _, c := range []struct {
		model      string
		rectified  bool
		classLayer string
	}{{"all-cnn-c", true, "conv9"}, {"large-all-cnn", false, "conv18"}} {
		s, err := ZooSpec(c.model, 10, 0.05)
		requireNoError(t, err)
		n, err := Build(*s)
		requireNoError(t, err)
		requireNoError(t, n.Init("he", 1))
		b := n.Param(c.classLayer + ".bias").Data
		w := n.Param(c.classLayer + ".weight").Data
		var ss float64
		for _, v := range w {
			ss += float64(v) * float64(v)
		}
		rms := ss / float64(len(w))
		if c.rectified {
			requireEqual(t, float32(ClassLayerBias), b[0], c.model+" class bias")
			if rms > 4*ClassLayerStd*ClassLayerStd {
				t.Errorf("%s: class weights rms² %g", c.model, rms)
			}
		} else {
			requireEqual(t, float32(0), b[0], c.model+" class bias")
			if rms < 4*ClassLayerStd*ClassLayerStd {
				t.Errorf("%s: class weights rms² %g, want He's", c.model, rms)
			}
		}
	}
}
