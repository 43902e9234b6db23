package allcnn

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// planar turns w×h RGBA pixels into the channel-major pixel values of a
// data set image (alpha dropped).
func planar(rgba []byte, w, h int) []float32 {
	px := make([]float32, 3*w*h)
	for i := range w * h {
		for c := range 3 {
			px[c*w*h+i] = float32(rgba[4*i+c])
		}
	}
	return px
}

// The batched path gives what the one-image path gives: Inputs and Pixels
// of pixel images are Input and SaliencyRGBA's under-image of the same
// images, at the source size and at another, and Probs is Classify, row
// for row.
func TestBatchMatchesOneImage(t *testing.T) {
	m, _ := tinyModel(t)
	if got := m.Source(); got != [3]int{3, 8, 8} {
		t.Fatalf("Source = %v", got)
	}
	for _, size := range [][2]int{{8, 8}, {13, 9}} {
		w, h := size[0], size[1]
		var rgbas [][]byte
		var images [][]float32
		for seed := range uint64(3) {
			rgbas = append(rgbas, randomRGBA(w, h, seed))
			images = append(images, planar(rgbas[seed], w, h))
		}
		x, err := m.Inputs(images, 3, h, w)
		if err != nil {
			t.Fatal(err)
		}
		px, err := m.Pixels(images, 3, h, w)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Probs(x, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Shape, []int{3, 3, 8, 8}) || len(p) != 3*m.Classes() {
			t.Fatalf("%d×%d: inputs %v, %d probabilities", w, h, x.Shape, len(p))
		}
		for k, rgba := range rgbas {
			one, err := m.Input(rgba, w, h)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(x.Example(k), one) {
				t.Errorf("%d×%d: Inputs' image %d differs from Input's", w, h, k)
			}
			under, err := m.pixelsRGBA(rgba, w, h)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(px.Example(k), under) {
				t.Errorf("%d×%d: Pixels' image %d differs from the RGBA path's", w, h, k)
			}
			c, err := m.Classify(rgba, w, h)
			if err != nil {
				t.Fatal(err)
			}
			if row := p[k*m.Classes() : (k+1)*m.Classes()]; !slices.Equal(row, c) {
				t.Errorf("%d×%d: Probs' row %d is %v, Classify %v", w, h, k, row, c)
			}
		}
	}
	if _, err := m.Inputs([][]float32{make([]float32, 5)}, 3, 8, 8); !errors.Is(err, preprocess.ErrImage) {
		t.Errorf("Inputs of a short image: %v", err)
	}
}

// With flip, Probs is the mean of the probabilities of the batch and of
// the batch mirrored left to right.
func TestProbsFlip(t *testing.T) {
	m, _ := tinyModel(t)
	x := &kernel.Tensor{Shape: []int{2, 3, 8, 8}, Data: randomInput(2*3*8*8, 5)}
	mirrored := kernel.NewTensor(x.Shape...)
	for r := range 2 * 3 * 8 {
		for i := range 8 {
			mirrored.Data[r*8+7-i] = x.Data[r*8+i]
		}
	}
	a, err := m.Probs(x, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Probs(mirrored, false)
	if err != nil {
		t.Fatal(err)
	}
	tta, err := m.Probs(x, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if want := (a[i] + b[i]) / 2; tta[i] != want {
			t.Fatalf("flip: probability %d is %v, want (%v + %v)/2", i, tta[i], a[i], b[i])
		}
	}
	if slices.Equal(a, tta) {
		t.Error("flip changed nothing: the test's net is symmetric")
	}
	if _, err := m.Probs(&kernel.Tensor{Shape: []int{1, 3, 4, 4}, Data: make([]float32, 48)}, true); err == nil {
		t.Error("Probs of a 4×4 input: no error")
	}
}

// Open is Load of the file's bytes; its errors name the file, and a file
// without the input contract warns once, naming the field.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.msgpack")
	f := format.FromNet(tinyNet(t), []string{"a", "b", "c"}, tinyPre, format.F32, nil)
	if err := format.WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.File().Tensors != nil || m.File().Arch.Name != "tiny" || m.Net().Classes() != 3 {
		t.Errorf("File %+v, %d classes", m.File().Arch, m.Net().Classes())
	}
	if w := m.Warnings(); len(w) != 1 || !strings.Contains(w[0], "preprocess.place") || !strings.Contains(w[0], "8×8") {
		t.Errorf("Warnings = %q", w)
	}

	pre := tinyPre
	pre.Place = preprocess.PlaceResize
	f = format.FromNet(tinyNet(t), []string{"a", "b", "c"}, pre, format.F32, nil)
	if err := format.WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	if m, err = Open(path); err != nil || m.Warnings() != nil {
		t.Errorf("a file with the input contract: %v, warnings %q", err, m.Warnings())
	}

	bad := filepath.Join(dir, "bad.msgpack")
	if err := os.WriteFile(bad, []byte("not a weight file"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(dir, "missing.msgpack")} {
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Open(%s): %v", p, err)
		}
	}
}
