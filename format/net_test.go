package format

import (
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
