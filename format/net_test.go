package format

import (
	"reflect"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// TestNetRoundTrip: a net's weights survive FromNet → Marshal → Unmarshal →
// Net exactly in f32, and to f16 rounding in f16.
func TestNetRoundTrip(t *testing.T) {
	s, err := kernel.ZooSpec("all-cnn-c", 10, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := kernel.Build(*s)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init("he", 4); err != nil {
		t.Fatal(err)
	}
	classes := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for _, d := range []DType{F32, F16} {
		b, err := Marshal(FromNet(n, classes, preprocess.Params{Kind: preprocess.None}, d, map[string]string{"k": "v"}))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		m, err := f.Net()
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range n.Params() {
			q := m.Params()[i]
			for j, v := range p.Data {
				w := q.Data[j]
				if d == F32 && v != w || d == F16 && (v-w > 1e-3*max(1, v) || w-v > 1e-3*max(1, v)) {
					t.Fatalf("%s %s[%d]: %v became %v", d, p.Name, j, v, w)
				}
			}
		}
	}
}

// TestBatchNormNetRoundTrip: a net with batch normalisation (a training
// checkpoint's) keeps its scale, shift and running statistics through a
// file, and a file that lacks a running statistic is refused, naming it.
func TestBatchNormNetRoundTrip(t *testing.T) {
	s, err := kernel.ZooSpec("all-cnn-c", 10, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := kernel.WithBatchNorm(*s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range bs.Layers {
		if bs.Layers[i].Name == "conv1_bn" {
			bs.Layers[i].Eps, bs.Layers[i].Momentum = 1e-3, 0.01
		}
	}
	n, err := kernel.Build(bs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range n.Tensors() {
		for j := range p.Data {
			p.Data[j] = float32(i+1) + float32(j)/64
		}
	}
	classes := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	f := FromNet(n, classes, preprocess.Params{Kind: preprocess.None}, F32, nil)
	b, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Arch, bs) {
		t.Fatalf("architecture %+v came back as %+v", bs, g.Arch)
	}
	m, err := g.Net()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tensors()) != len(n.Tensors()) {
		t.Fatalf("%d tensors back, %d written", len(m.Tensors()), len(n.Tensors()))
	}
	for i, p := range n.Tensors() {
		q := m.Tensors()[i]
		if p.Name != q.Name {
			t.Fatalf("tensor %d: %s back as %s", i, p.Name, q.Name)
		}
		for j := range p.Data {
			if p.Data[j] != q.Data[j] {
				t.Fatalf("%s[%d]: %v became %v", p.Name, j, p.Data[j], q.Data[j])
			}
		}
	}
	var kept []Tensor
	for _, t := range f.Tensors {
		if t.Name != "conv2_bn.running_var" {
			kept = append(kept, t)
		}
	}
	f.Tensors = kept
	if _, err := Marshal(f); err == nil || !strings.Contains(err.Error(), "conv2_bn.running_var") {
		t.Fatalf("a file without conv2_bn.running_var: %v", err)
	}
}
