package main

import (
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// tinyModel writes All-CNN-C at width 1/8 (12 and 24 channels, the ten
// CIFAR-10 classes) into dir and returns its path.
func tinyModel(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "tiny.msgpack")
	if _, e, code := runCmd(t, "init", "-arch", "all-cnn-c", "-width", "0.125", "-o", path); code != 0 {
		t.Fatalf("init: exit %d: %s", code, e)
	}
	return path
}

// archModel writes a model of a JSON architecture into dir.
func archModel(t *testing.T, dir, arch string) string {
	t.Helper()
	js, path := filepath.Join(dir, "arch.json"), filepath.Join(dir, "arch.msgpack")
	if err := os.WriteFile(js, []byte(arch), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, e, code := runCmd(t, "init", "-arch", js, "-o", path); code != 0 {
		t.Fatalf("init: exit %d: %s", code, e)
	}
	return path
}

// writeImage writes a w×h image of random colours drawn from seed, as PNG
// or JPEG by the file's extension, creating its folder.
func writeImage(t *testing.T, path string, w, h int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// readPNG decodes a PNG the test made.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// gridSize is the size of a render.Grid whose every row has labels, from
// the layout its documentation states: a margin and gap of 4 pixels, a
// header line of 13 pixels, 2+13 pixels of label under each row.
func gridSize(colW, rowH []int, header bool) (w, h int) {
	w, h = 4, 4
	for _, c := range colW {
		w += c + 4
	}
	if header {
		h += 13 + 4
	}
	for _, r := range rowH {
		h += r + 4 + 2 + 13
	}
	return w, h
}

func TestReadImage(t *testing.T) {
	dir := t.TempDir()
	// Equal sizes: the file's pixels exactly; other sizes: the input size.
	writeImage(t, filepath.Join(dir, "a.png"), 8, 8, 1)
	writeImage(t, filepath.Join(dir, "b.jpg"), 13, 7, 2)
	px, err := readImage(filepath.Join(dir, "a.png"), [3]int{3, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	if want := float32(r.IntN(256)); px[0] != want {
		t.Fatalf("pixel (0,0) red = %v, want %v", px[0], want)
	}
	for _, in := range [][3]int{{3, 32, 32}, {1, 5, 9}} {
		px, err := readImage(filepath.Join(dir, "b.jpg"), in)
		if err != nil || len(px) != in[0]*in[1]*in[2] {
			t.Fatalf("%v: %d values, %v", in, len(px), err)
		}
	}
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("\x89PNG not really"), 0o644)
	for _, name := range []string{"bad.png", "missing.jpg"} {
		if _, err := readImage(filepath.Join(dir, name), [3]int{3, 8, 8}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
}

func TestParseUnits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"0-3", []int{0, 1, 2, 3}}, {"5", []int{5}}, {"0,3,8-9", []int{0, 3, 8, 9}},
		{"", nil}, {"3-1", nil}, {"-1", nil}, {"a", nil}, {"1-", nil}, {"0-99999999", nil},
	} {
		got, err := parseUnits(c.in)
		if c.want == nil && err == nil || c.want != nil && !slices.Equal(got, c.want) {
			t.Errorf("parseUnits(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		top  int
	}{
		{[]string{"a", "-top", "3", "b"}, []string{"a", "b"}, 3},
		{[]string{"-top", "2", "a"}, []string{"a"}, 2},
		{[]string{"a", "--", "-top", "b"}, []string{"a", "-top", "b"}, 5},
		{nil, nil, 5},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		top := fs.Int("top", 5, "")
		pos, err := parseArgs(fs, c.args)
		if err != nil || !slices.Equal(pos, c.pos) || *top != c.top {
			t.Errorf("%q: %q -top %d, %v", c.args, pos, *top, err)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseArgs(fs, []string{"a", "-bogus"}); err == nil {
		t.Error("unknown flag after an argument: no error")
	}
}

func TestSample(t *testing.T) {
	for _, c := range []struct {
		n, limit int
		want     []int
	}{
		{5, 0, []int{0, 1, 2, 3, 4}}, {5, 9, []int{0, 1, 2, 3, 4}}, {10, 3, []int{0, 3, 6}}, {0, 2, []int{}},
	} {
		if got := sample(c.n, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("sample(%d, %d) = %v, want %v", c.n, c.limit, got, c.want)
		}
	}
}

func TestClassIndex(t *testing.T) {
	classes := []string{"cat", "dog", "7"}
	for _, c := range []struct {
		in   string
		want int
	}{{"cat", 0}, {"1", 1}, {"7", 2}, {"2", 2}, {"3", -1}, {"cow", -1}, {"-1", -1}} {
		got, err := classIndex(classes, c.in)
		if c.want < 0 && err == nil || c.want >= 0 && (err != nil || got != c.want) {
			t.Errorf("classIndex(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

// A data set image of another size is brought to the input exactly as
// predict brings the same file, for every placement, so that eval and
// predict agree.
func TestInputsMatchReadImage(t *testing.T) {
	dir := t.TempDir()
	for i, f := range []string{"a/0.png", "a/1.jpg", "b/0.png"} {
		writeImage(t, filepath.Join(dir, f), 11, 9, uint64(i))
	}
	d, err := dataset.LoadFolder(dir, dataset.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in    [3]int
		place string
		size  [2]int
	}{
		{[3]int{3, 8, 8}, "", [2]int{}},
		{[3]int{3, 9, 11}, preprocess.PlaceResize, [2]int{}},
		{[3]int{1, 16, 4}, preprocess.PlaceResize, [2]int{}},
		{[3]int{3, 12, 12}, preprocess.PlaceCanvas, [2]int{5, 6}},
		{[3]int{3, 6, 6}, preprocess.PlaceCrop, [2]int{10, 10}},
	} {
		p := preprocess.Params{Kind: preprocess.Channel, Mean: make([]float32, c.in[0]), Std: make([]float32, c.in[0]), Place: c.place, Size: c.size}
		for k := range p.Std {
			p.Mean[k], p.Std[k] = 0.5, 0.25
		}
		if err := p.Validate(c.in[0], c.in[1], c.in[2]); err != nil {
			t.Fatal(err)
		}
		m := pooledModel(t, c.in, p)
		idx := []int{2, 0, 1}
		x, err := inputs(m, d, idx)
		if err != nil {
			t.Fatal(err)
		}
		if got := labelsAt(d, idx); !slices.Equal(got, []int{1, 0, 0}) {
			t.Errorf("labels %v", got)
		}
		files := []string{"b/0.png", "a/0.png", "a/1.jpg"}
		for k, f := range files {
			files[k] = filepath.Join(dir, f)
		}
		r, err := readImages(files, m.Source())
		if err != nil {
			t.Fatal(err)
		}
		y, err := inputs(m, r, seq(3))
		if err != nil {
			t.Fatal(err)
		}
		for k, f := range files {
			if !slices.Equal(x.Example(k), y.Example(k)) {
				t.Errorf("%v %q: %s differs between the data set and the file", c.in, c.place, f)
			}
		}
	}
}

// pooledModel is a model of input in whose net is a global average pool,
// with preprocessing p, loaded through a weight file.
func pooledModel(t *testing.T, in [3]int, p preprocess.Params) *allcnn.Model {
	t.Helper()
	n, err := kernel.Build(kernel.Spec{Name: "pooled", Input: in, Layers: []kernel.LayerSpec{{Type: kernel.TypeGAP, Name: "gap"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := format.Marshal(format.FromNet(n, classNames(n.Classes()), p, format.F32, nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := allcnn.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
