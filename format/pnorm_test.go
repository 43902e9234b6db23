package format

import (
	"reflect"
	"testing"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// TestPNormNetRoundTrip: a net with p-norm subsampling keeps its layers,
// exponents included (the "p" key a dropout's probability also uses), and
// its outputs through a file.
func TestPNormNetRoundTrip(t *testing.T) {
	s := kernel.Spec{Name: "pnorm", Input: [3]int{3, 8, 8}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeConv, Name: "conv1", Out: 4, Kernel: 3, Pad: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypePNorm, Name: "pool1", Kernel: 3, Stride: 2, Pad: 1, P: 2.5},
		{Type: kernel.TypeDropout, P: 0.5},
		{Type: kernel.TypeConv, Name: "conv2", Out: 2, Kernel: 1}, {Type: kernel.TypeReLU},
		{Type: kernel.TypePNorm, Name: "pool2", Kernel: 3, Stride: 2, Ceil: true, P: 1},
		{Type: kernel.TypeGAP},
	}}
	n, err := kernel.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init("he", 2); err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(FromNet(n, []string{"a", "b"}, preprocess.Params{Kind: preprocess.None}, F32, nil))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Arch, s) {
		t.Fatalf("architecture %+v came back as %+v", s, f.Arch)
	}
	m, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	x := kernel.NewTensor(2, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(i%13) - 6
	}
	want, err := n.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Data, want.Data) {
		t.Fatalf("outputs %v came back as %v", want.Data, got.Data)
	}
}
