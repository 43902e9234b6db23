package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/internal/onnxtool"
	"github.com/allcnn/allcnn/kernel"
)

// sharedImages is the CIFAR-10 training set as JPEGs beside the checkout.
const sharedImages = "../../../shared/data/cifar10-train-jpg.tar.gz"

// realImages extracts the first n JPEGs of the shared CIFAR-10 images into
// dir, or skips t where they are not beside the checkout.
func realImages(t *testing.T, dir string, n int) []string {
	t.Helper()
	fd, err := os.Open(sharedImages)
	if err != nil {
		t.Skip("skip: the shared CIFAR-10 images are not beside the checkout")
	}
	defer fd.Close()
	gz, err := gzip.NewReader(fd)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var paths []string
	for len(paths) < n {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v after %d images", sharedImages, err, len(paths))
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".jpg") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, strings.ReplaceAll(h.Name, "/", "_"))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// predictProbs runs predict -json on images and returns each image's
// probabilities of every class, in class order.
func predictProbs(t *testing.T, model string, classes int, images []string) [][]float32 {
	t.Helper()
	out, e, code := runCmd(t, append([]string{"predict", "-json", "-top", "1000", "-model", model}, images...)...)
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, e)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, len(preds))
	for i, p := range preds {
		rows[i] = make([]float32, classes)
		for _, c := range p.Top {
			rows[i][c.Index] = c.Prob
		}
	}
	return rows
}

// The bundled model, exported, gives in ONNX Runtime the probabilities
// that predict gives on real images, and passes python3-onnx's checker;
// imported back, it predicts the same.
func TestExportPredictParity(t *testing.T) {
	const model = "../../models/allcnn-c.msgpack"
	if _, err := os.Stat(model); err != nil {
		t.Skipf("skip: no bundled model: %v", err)
	}
	n := 256
	if testing.Short() {
		n = 32
	}
	dir := t.TempDir()
	images := realImages(t, dir, n)
	m := filepath.Join(dir, "allcnn-c.onnx")
	if out, e, code := runCmd(t, "export", "-format", "onnx", "-o", m, model); code != 0 || !strings.Contains(out, `"probs" N×10`) {
		t.Fatalf("export: exit %d: %s%s", code, out, e)
	}
	want := predictProbs(t, model, 10, images)

	back := filepath.Join(dir, "back.msgpack")
	if out, e, code := runCmd(t, "import", "-dtype", "f16", "-o", back, m); code != 0 || !strings.Contains(out, "all-cnn-c, 22 layers") {
		t.Fatalf("import: exit %d: %s%s", code, out, e)
	}
	if d := maxDiff(predictProbs(t, back, 10, images), want); d != 0 {
		t.Errorf("exported and imported back, the model's probabilities differ by %.3g", d)
	}

	onnxtool.Check(t, m)
	onnxtool.NeedRuntime(t)
	f, err := format.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	in := f.Arch.Input
	sh, sw := f.Preprocess.SourceSize(in)
	var x []float32
	for _, p := range images {
		px, err := readImage(p, [3]int{in[0], sh, sw})
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, px...)
	}
	res := onnxtool.Run(t, []onnxtool.Job{{Model: m, Input: onnxtool.WriteFloats(t, dir, "x.f32", x), Shape: []int{n, in[0], sh, sw}}})
	var flat []float32
	for _, row := range want {
		flat = append(flat, row...)
	}
	d := onnxtool.MaxAbsDiff(res[0].Data, flat)
	t.Logf("%d CIFAR-10 images: ONNX Runtime against predict, max |Δp| %.2g", n, d)
	if d > 1e-5 {
		t.Errorf("ONNX Runtime's probabilities differ from predict's by %.3g", d)
	}
}

func maxDiff(a, b [][]float32) float64 {
	var d float64
	for i := range a {
		d = max(d, onnxtool.MaxAbsDiff(a[i], b[i]))
	}
	return d
}

// A PyTorch net exported by torch.onnx.export, imported with its input
// normalisation and class names, predicts in allcnn predict what PyTorch
// computed for the same pixels (onnx/testdata, tools/onnx_nets.py).
func TestImportPredict(t *testing.T) {
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes.txt")
	if err := os.WriteFile(classes, []byte(strings.Join(cifar10Classes, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"batchnorm", "maxpool", "leaky"} {
		var tc struct {
			Mean, Std []float32
			Shape     []int
			Pixels    []float32
			Logits    []float32
		}
		b, err := os.ReadFile(filepath.Join("..", "..", "onnx", "testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &tc); err != nil {
			t.Fatal(err)
		}
		model := filepath.Join(dir, name+".msgpack")
		out, e, code := runCmd(t, "import", "-o", model, "-class-names", classes, "-mean", floats(tc.Mean), "-std", floats(tc.Std),
			filepath.Join("..", "..", "onnx", "testdata", name+".onnx"))
		if code != 0 || !strings.Contains(out, name+",") {
			t.Fatalf("%s: import: exit %d: %s%s", name, code, out, e)
		}
		// The images at the net's input size, which predict takes as they are.
		n, c, h, w := tc.Shape[0], tc.Shape[1], tc.Shape[2], tc.Shape[3]
		var images []string
		for i := range n {
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					at := func(ch int) uint8 { return uint8(tc.Pixels[((i*c+ch)*h+y)*w+x]) }
					img.SetRGBA(x, y, color.RGBA{at(0), at(1), at(2), 255})
				}
			}
			p := filepath.Join(dir, name+string(rune('a'+i))+".png")
			fd, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(fd, img); err != nil {
				t.Fatal(err)
			}
			fd.Close()
			images = append(images, p)
		}
		k := len(tc.Logits) / n
		want := make([]float32, len(tc.Logits))
		kernel.Softmax(tc.Logits, k, want)
		var got []float32
		for _, row := range predictProbs(t, model, k, images) {
			got = append(got, row...)
		}
		d := onnxtool.MaxAbsDiff(got, want)
		t.Logf("%-9s predict against PyTorch, max |Δp| %.2g", name, d)
		if d > 1e-5 {
			t.Errorf("%s: predict's probabilities differ from PyTorch's by %.3g", name, d)
		}
	}
}

func floats(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		b, _ := json.Marshal(x)
		s[i] = string(b)
	}
	return strings.Join(s, ",")
}

// Usage errors exit 2; a model that cannot be converted exits 1 with the
// reason, naming the file (and for import the node).
func TestExportImportErrors(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, []byte("\x08\x07\x3a\x00"), 0o644); err != nil { // ir_version 7, an empty graph
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"export", model}, 2, "needs -o FILE"},
		{[]string{"export", "-format", "tflite", "-o", filepath.Join(dir, "m"), model}, 2, `-format "tflite"`},
		{[]string{"export", "-o", filepath.Join(dir, "m"), filepath.Join(dir, "none.msgpack")}, 1, "none.msgpack"},
		{[]string{"import", bad}, 2, "needs -o FILE"},
		{[]string{"import", "-o", filepath.Join(dir, "m"), "-mean", "0.5,0.5,0.5", bad}, 2, "-mean and -std go together"},
		{[]string{"import", "-o", filepath.Join(dir, "m"), "-size", "3", bad}, 2, `-size "3"`},
		{[]string{"import", "-o", filepath.Join(dir, "m"), bad}, 1, "bad.onnx: onnx: import: not supported: default operator set version 0"},
		{[]string{"import", "-o", filepath.Join(dir, "m"), model}, 1, "tiny.msgpack: onnx: import: malformed"},
	} {
		_, e, code := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(e, c.says) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, e, c.code, c.says)
		}
	}
}
