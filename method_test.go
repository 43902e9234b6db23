package allcnn

import (
	"errors"
	"math"
	"testing"

	"github.com/allcnn/allcnn/kernel"
)

// TestEveryMethod: each method runs through the request vocabulary the
// wasm builds use, returns a finite map of the input's size that is not
// all zero, and is the kernel's own computation (the app layer adds
// nothing but the dispatch); Grad-CAM's map is the same in every channel.
func TestEveryMethod(t *testing.T) {
	m, n := tinyModel(t)
	x := randomInput(m.InputSize(), 5)
	xt := &kernel.Tensor{Shape: []int{1, 3, 8, 8}, Data: x}
	for _, name := range Methods {
		req, err := ParseRequest("method=" + name + "&samples=4&steps=8&window=2&stride=2&seed=3")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := m.Saliency(x, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(s.Raw) != m.InputSize() {
			t.Fatalf("%s: %d values, want %d", name, len(s.Raw), m.InputSize())
		}
		nonzero := false
		for _, v := range s.Raw {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: non-finite value %v", name, v)
			}
			nonzero = nonzero || v != 0
		}
		if !nonzero {
			t.Errorf("%s: the map is all zero", name)
		}
		method, err := req.method()
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := Explain(n, xt, []kernel.Target{{Channel: s.Unit}}, method)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want.Data {
			if math.Abs(float64(v-s.Raw[i])) > 1e-6*(1+math.Abs(float64(v))) {
				t.Fatalf("%s: value %d is %v through the model, %v through Explain", name, i, s.Raw[i], v)
			}
		}
		if name == "gradcam" {
			for i := range 64 {
				if s.Raw[i] != s.Raw[64+i] || s.Raw[i] != s.Raw[128+i] {
					t.Fatalf("gradcam: pixel %d differs between channels", i)
				}
			}
		}
	}
	if l := DefaultCAMLayer(n); l != "conv2" {
		t.Errorf("DefaultCAMLayer = %q, want conv2 (conv3 is the class layer)", l)
	}
}

// TestMethodOptionErrors: bad values of the new options are ErrRequest
// errors that name the option.
func TestMethodOptionErrors(t *testing.T) {
	for _, q := range []string{"method=lrp", "rule=smooth", "samples=0", "steps=-1", "window=x", "noise=-1", "seed=-2", "baseline=noise"} {
		_, err := ParseRequest(q)
		if !errors.Is(err, ErrRequest) {
			t.Errorf("%s: %v, want ErrRequest", q, err)
		}
	}
	m, _ := tinyModel(t)
	x := randomInput(m.InputSize(), 5)
	for _, req := range []SaliencyRequest{
		{Method: "gradcam", CAMLayer: "nope"},
		{Method: "occlusion", Window: 9},
	} {
		if _, err := m.Saliency(x, req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
}
