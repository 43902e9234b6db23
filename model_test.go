package allcnn

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// tinySpec is a small all-conv net on 3×8×8 input: a stride-2 conv (so the
// switched net differs), a max-pool, and a 1×1 classifier over 3 classes.
var tinySpec = kernel.Spec{Name: "tiny", Input: [3]int{3, 8, 8}, Layers: []kernel.LayerSpec{
	{Type: kernel.TypeConv, Name: "conv1", Out: 4, Kernel: 3, Pad: 1},
	{Type: kernel.TypeReLU},
	{Type: kernel.TypeConv, Name: "conv2", Out: 5, Kernel: 3, Stride: 2, Pad: 1},
	{Type: kernel.TypeReLU},
	{Type: kernel.TypeMaxPool, Name: "pool1", Kernel: 2, Stride: 2},
	{Type: kernel.TypeDropout, P: 0.5},
	{Type: kernel.TypeConv, Name: "conv3", Out: 3, Kernel: 1},
	{Type: kernel.TypeGAP, Name: "gap"},
}}

var tinyPre = preprocess.Params{Kind: preprocess.Channel, Mean: []float32{0.5, 0.4, 0.3}, Std: []float32{0.25, 0.2, 0.3}}

// tinyNet is tinySpec with He weights and small random biases, so that
// no class is dead.
func tinyNet(t testing.TB) *kernel.Net {
	t.Helper()
	n, err := kernel.Build(tinySpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init("he", 1); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	for _, p := range n.Params() {
		if len(p.Shape) == 1 {
			for i := range p.Data {
				p.Data[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	return n
}

// tinyModel loads tinyNet through a weight file, as the wasm builds do.
func tinyModel(t testing.TB) (*Model, *kernel.Net) {
	t.Helper()
	n := tinyNet(t)
	f := format.FromNet(n, []string{"cat", "dog", `say "hi"`}, tinyPre, format.F32, map[string]string{"epochs": "3"})
	b, err := format.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	return m, n
}

func randomRGBA(w, h int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, 4*w*h)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

func randomInput(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestClassify(t *testing.T) {
	m, n := tinyModel(t)
	img := randomRGBA(13, 9, 1)
	probs, err := m.Classify(img, 13, 9)
	if err != nil {
		t.Fatal(err)
	}
	// The same by hand: crop and resize, normalise, forward, softmax.
	px, err := preprocess.FromRGBA(img, 13, 9, 3, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(px))
	tinyPre.Apply(px, x, nil, 3)
	out, err := n.Forward(&kernel.Tensor{Shape: []int{1, 3, 8, 8}, Data: x}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 3)
	kernel.Softmax(out.Data, 3, want)
	if !slices.Equal(probs, want) {
		t.Errorf("Classify = %v, want %v", probs, want)
	}
	var sum float64
	for _, p := range probs {
		sum += float64(p)
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

// Saliency resolves its target, then computes exactly what kernel's
// Net.Saliency computes for the resolved target.
func TestSaliencyMatchesKernel(t *testing.T) {
	m, n := tinyModel(t)
	sw, err := n.WithSwitches()
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(3*8*8, 4)
	at := &[2]int{1, 0}
	tests := []struct {
		name string
		req  SaliencyRequest
	}{
		{"top class", SaliencyRequest{Unit: -1}},
		{"class 2", SaliencyRequest{Unit: 2}},
		{"strongest unit of conv2", SaliencyRequest{Layer: "conv2", Unit: -1}},
		{"channel 3 of conv2", SaliencyRequest{Layer: "conv2", Unit: 3}},
		{"strongest channel of conv1 at (1,0)", SaliencyRequest{Layer: "conv1", Unit: -1, At: at}},
		{"channel 1 of pool1 at (1,0)", SaliencyRequest{Layer: "pool1", Unit: 1, At: at}},
		{"switched, top class", SaliencyRequest{Unit: -1, Switches: true}},
		{"switched, strongest unit of conv2.pool", SaliencyRequest{Layer: "conv2.pool", Unit: -1, Switches: true}},
		{"top class without switches", SaliencyRequest{Unit: -1, Spread: true}},
		{"switched, top class, without switches", SaliencyRequest{Unit: -1, Switches: true, Spread: true}},
	}
	for _, tt := range tests {
		for _, method := range []string{"gradient", "deconvnet", "guided"} {
			tt.req.Method = method
			s, err := m.Saliency(x, tt.req)
			if err != nil {
				t.Fatalf("%s, %s: %v", tt.name, method, err)
			}
			net := n
			if tt.req.Switches {
				net = sw
			}
			// The resolved unit really is the strongest.
			if tt.req.Unit == -1 {
				layer := len(net.Layers) - 1
				if tt.req.Layer != "" {
					layer, _ = net.Unit(tt.req.Layer)
				}
				act, _ := net.ForwardTo(&kernel.Tensor{Shape: []int{1, 3, 8, 8}, Data: x}, layer, false)
				sh := net.Shapes[layer]
				v := act.Data[(s.Unit*sh[1]+s.At[0])*sh[2]+s.At[1]]
				for c := range sh[0] {
					for p := range sh[1] * sh[2] {
						if tt.req.At != nil && p != tt.req.At[0]*sh[2]+tt.req.At[1] {
							continue
						}
						if act.Data[c*sh[1]*sh[2]+p] > v {
							t.Fatalf("%s: unit %d at %v is %v, but channel %d position %d is larger", tt.name, s.Unit, s.At, v, c, p)
						}
					}
				}
			}
			target := kernel.Target{Layer: tt.req.Layer, Channel: s.Unit, At: &s.At}
			rule, _ := kernel.ParseReLURule(method)
			pool := kernel.Switches
			if tt.req.Spread {
				pool = kernel.NoSwitches
			}
			want, _, err := net.Saliency(&kernel.Tensor{Shape: []int{1, 3, 8, 8}, Data: x}, []kernel.Target{target}, kernel.Rule{ReLU: rule, Pool: pool})
			if err != nil {
				t.Fatal(err)
			}
			if tt.req.Spread {
				// Not the map with switches: the option reaches the pools.
				req := tt.req
				req.Spread = false
				with, err := m.Saliency(x, req)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Equal(with.Raw, s.Raw) {
					t.Errorf("%s, %s: the same map with and without switches", tt.name, method)
				}
			}
			if !slices.Equal(s.Raw, want.Data) {
				t.Errorf("%s, %s (%v): differs from kernel's Saliency", tt.name, method, target)
			}
			if slices.Max(s.Raw) == 0 && slices.Min(s.Raw) == 0 && method != "deconvnet" {
				t.Logf("%s, %s: map is all zero", tt.name, method)
			}
		}
	}
}

func TestSaliencyErrors(t *testing.T) {
	m, _ := tinyModel(t)
	x := randomInput(3*8*8, 5)
	tests := []struct {
		name string
		x    []float32
		req  SaliencyRequest
		want error
	}{
		{"unknown method", x, SaliencyRequest{Method: "lrp"}, ErrRequest},
		{"unknown layer", x, SaliencyRequest{Layer: "conv9"}, ErrRequest},
		{"class too large", x, SaliencyRequest{Unit: 3}, ErrRequest},
		{"unit below -1", x, SaliencyRequest{Unit: -2}, ErrRequest},
		{"channel too large", x, SaliencyRequest{Layer: "conv1", Unit: 4}, ErrRequest},
		{"position outside", x, SaliencyRequest{Layer: "conv2", At: &[2]int{0, 4}}, ErrRequest},
		{"position of a class", x, SaliencyRequest{At: &[2]int{1, 0}}, ErrRequest},
		{"pool of the switched net without switches", x, SaliencyRequest{Layer: "conv2.pool"}, ErrRequest},
		{"short input", x[1:], SaliencyRequest{}, kernel.ErrShape},
	}
	for _, tt := range tests {
		if _, err := m.Saliency(tt.x, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		} else {
			t.Logf("%s: %v", tt.name, err)
		}
	}
	// The model still works.
	if _, err := m.Saliency(x, NewRequest()); err != nil {
		t.Fatal(err)
	}
}

func TestSaliencyRGBA(t *testing.T) {
	m, _ := tinyModel(t)
	img := randomRGBA(20, 10, 2)
	x, err := m.Input(img, 20, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []string{"", "method=guided&colormap=rgb", "method=deconvnet&layer=conv2&sign=absolute&colormap=viridis&clip=99&overlay=0.5"} {
		req, err := ParseRequest(opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.SaliencyRGBA(img, 20, 10, req)
		if err != nil {
			t.Fatalf("%q: %v", opts, err)
		}
		if s.Width != 8 || s.Height != 8 || len(s.Image) != 4*8*8 {
			t.Fatalf("%q: %d×%d image of %d bytes", opts, s.Width, s.Height, len(s.Image))
		}
		for i := 3; i < len(s.Image); i += 4 {
			if s.Image[i] != 255 {
				t.Fatalf("%q: pixel %d not opaque", opts, i/4)
			}
		}
		// The raw map is the one Saliency computes from Input.
		want, err := m.Saliency(x, req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Raw, want.Raw) || s.Unit != want.Unit || s.At != want.At {
			t.Errorf("%q: SaliencyRGBA's map differs from Saliency's", opts)
		}
	}
	if _, err := m.SaliencyRGBA(img[:7], 20, 10, NewRequest()); !errors.Is(err, preprocess.ErrImage) {
		t.Errorf("short image: err = %v, want preprocess.ErrImage", err)
	}
}

func TestLogitsErrors(t *testing.T) {
	m, _ := tinyModel(t)
	if _, err := m.Logits(make([]float32, 5)); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("short input: err = %v, want kernel.ErrShape", err)
	}
	if _, err := m.Classify(make([]byte, 4*3*3), 3, 4); !errors.Is(err, preprocess.ErrImage) {
		t.Errorf("wrong image length: err = %v, want preprocess.ErrImage", err)
	}
}

func TestLoadErrors(t *testing.T) {
	b, err := format.Marshal(format.FromNet(tinyNet(t), []string{"a", "b", "c"}, tinyPre, format.F32, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, format.ErrTruncated},
		{"not a weight file", []byte("PK\x03\x04 a zip file"), format.ErrMagic},
		{"truncated", b[:len(b)/2], format.ErrTruncated},
		{"flipped byte", func() []byte { c := slices.Clone(b); c[len(c)/2] ^= 1; return c }(), format.ErrChecksum},
	} {
		_, err := Load(tt.b)
		if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		} else {
			t.Logf("%s: %v", tt.name, err)
		}
	}
}

func TestInfo(t *testing.T) {
	m, _ := tinyModel(t)
	info := m.Info()
	want := Info{
		Name: "tiny", Input: [3]int{3, 8, 8}, Classes: []string{"cat", "dog", `say "hi"`}, Preprocess: "channel",
		Place: "resize", Source: [2]int{8, 8}, Warnings: info.Warnings,
		Layers: []Layer{
			{"conv1", "conv", 4, 8, 8}, {"conv2", "conv", 5, 4, 4}, {"pool1", "maxpool", 5, 2, 2},
			{"conv3", "conv", 3, 2, 2}, {"gap", "gap", 3, 1, 1},
		},
		SwitchedLayers: []Layer{
			{"conv1", "conv", 4, 8, 8}, {"conv2", "conv", 5, 8, 8}, {"conv2.pool", "maxpool", 5, 4, 4},
			{"pool1", "maxpool", 5, 2, 2}, {"conv3", "conv", 3, 2, 2}, {"gap", "gap", 3, 1, 1},
		},
		Meta: map[string]string{"epochs": "3"},
	}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Info = %+v\nwant   %+v", info, want)
	}
	// The file predates the input contract: one warning, naming the field.
	if len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "preprocess.place") {
		t.Errorf("warnings %q", info.Warnings)
	}

	// The hand-written JSON is what encoding/json reads back.
	info.Meta["k\u2028\x01é"] = "a\\b\n\"c\""
	var got struct {
		Name           string   `json:"name"`
		Input          [3]int   `json:"input"`
		Classes        []string `json:"classes"`
		Preprocess     string   `json:"preprocess"`
		Place          string   `json:"place"`
		Source         [2]int   `json:"source"`
		Warnings       []string `json:"warnings"`
		Layers         []Layer  `json:"layers"`
		SwitchedLayers []Layer  `json:"switchedLayers"`
		Meta           map[string]string
	}
	js := info.JSON()
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	back := Info(got)
	if !reflect.DeepEqual(back, info) {
		t.Errorf("JSON %s\nreads back as %+v", js, back)
	}
}

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest("method=guided&layer=conv%266&unit=3&at=2,%201&switches=1&pool=spread&reduce=maxabs&sign=positive&clip=99.5&colormap=viridis&overlay=0.25&")
	if err != nil {
		t.Fatal(err)
	}
	want := SaliencyRequest{Method: "guided", Layer: "conv&6", Unit: 3, At: &[2]int{2, 1}, Switches: true, Spread: true}
	want.Render.Reduce, want.Render.Sign, want.Render.Clip, want.Render.Colormap, want.Render.Overlay = 2, 1, 99.5, "viridis", 0.25
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	if r, err := ParseRequest(""); err != nil || !reflect.DeepEqual(r, NewRequest()) {
		t.Errorf("empty: %+v, %v", r, err)
	}
	for _, bad := range []string{
		"method=smooth", "unit=x", "at=1", "at=1,y", "switches=maybe", "pool=max", "reduce=mean", "sign=both",
		"clip=101", "clip=-1", "colormap=jet", "overlay=2", "overlay=NaN", "colour=gray", "unit", "layer=%2", "layer=%zz",
	} {
		if _, err := ParseRequest(bad); !errors.Is(err, ErrRequest) {
			t.Errorf("%q: err = %v, want ErrRequest", bad, err)
		} else {
			t.Logf("%q: %v", bad, err)
		}
	}
}

// A loaded model is an inference session: its net is frozen
// (kernel.Net.Freeze), and handing out its parameters thaws it.
func TestModelNetFrozen(t *testing.T) {
	m, _ := tinyModel(t)
	if !m.Net().Frozen() {
		t.Fatal("a loaded model's net is not frozen")
	}
	if _, err := m.Logits(randomInput(3*8*8, 1)); err != nil {
		t.Fatal(err)
	}
	if !m.Net().Frozen() {
		t.Fatal("Logits thawed the model's net")
	}
	m.Net().Params()
	if m.Net().Frozen() {
		t.Fatal("Params left the model's net frozen")
	}
}
