package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// twoClass is a 2-class all-conv net on 8×8 images; init names its classes
// class0 and class1.
const twoClass = `{"name":"two","input":[3,8,8],"layers":[
	{"type":"conv","name":"conv1","out":4,"kernel":3,"pad":1},{"type":"relu"},
	{"type":"conv","name":"conv2","out":2,"kernel":1},{"type":"gap","name":"gap"}]}`

func TestEval(t *testing.T) {
	dir := t.TempDir()
	model := archModel(t, dir, twoClass)
	data := filepath.Join(dir, "data")
	var files []string
	for c, class := range []string{"class1", "class0"} {
		for i := range 3 {
			f := filepath.Join(data, class, fmt.Sprintf("%d.png", i))
			writeImage(t, f, 11, 9, uint64(10*c+i)) // resampled to 8×8
			files = append(files, f)
		}
	}
	out, e, code := runCmd(t, "eval", "-model", model, "-data", "folder:"+data, "-json", "-batch", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var r evalReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Images != 6 || r.K != 2 || r.Split != "" || !(r.Top1 >= 0 && r.Top1 <= 1) || r.TopK != 0 {
		t.Fatalf("report %+v", r)
	}

	// Differential: eval's batches and predict's files agree on the error
	// (two ways to read and resample an image).
	p, _, _ := runCmd(t, append([]string{"predict", "-model", model, "-json", "-top", "1"}, files...)...)
	var preds []prediction
	if err := json.Unmarshal([]byte(p), &preds); err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for _, pr := range preds {
		if !strings.Contains(pr.Image, string(filepath.Separator)+pr.Top[0].Class+string(filepath.Separator)) {
			wrong++
		}
	}
	if want := float64(wrong) / 6; r.Top1 != want {
		t.Errorf("eval top-1 error %v, predict's %v", r.Top1, want)
	}

	// -val 1 counts the last image of each class only, as the trainer
	// holds them out: 2.png of each, the last two predictions.
	out, e, code = runCmd(t, "eval", "-model", model, "-data", "folder:"+data, "-json", "-val", "1")
	if code != 0 {
		t.Fatalf("-val 1: exit %d: %s", code, e)
	}
	var rv evalReport
	if err := json.Unmarshal([]byte(out), &rv); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wrongLast := 0
	for _, pr := range preds {
		if strings.HasSuffix(pr.Image, "2.png") && !strings.Contains(pr.Image, string(filepath.Separator)+pr.Top[0].Class+string(filepath.Separator)) {
			wrongLast++
		}
	}
	if rv.Images != 2 || rv.HeldOut != 1 || rv.Top1 != float64(wrongLast)/2 {
		t.Errorf("-val 1: report %+v, want 2 images with top-1 error %v", rv, float64(wrongLast)/2)
	}

	// Images of the input size; a subset of the classes is fine.
	other := filepath.Join(dir, "other")
	writeImage(t, filepath.Join(other, "class1", "a.jpg"), 8, 8, 7)
	out, e, code = runCmd(t, "eval", "-model", model, "-data", "folder:"+other)
	if code != 0 || !strings.Contains(out, "1 images of 1 classes") || !strings.Contains(out, "top-2 error:") {
		t.Fatalf("subset: exit %d: %s%s", code, out, e)
	}

	// A class the model lacks.
	writeImage(t, filepath.Join(other, "zebra", "z.png"), 8, 8, 8)
	_, e, code = runCmd(t, "eval", "-model", model, "-data", "folder:"+other)
	if code != 1 || !strings.Contains(e, `"zebra"`) || !strings.Contains(e, "class0, class1") {
		t.Fatalf("unknown class: exit %d: %s", code, e)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"eval", "-model", model}, 2},
		{[]string{"eval", "-model", model, "-data", "folder:" + data, "-split", "val"}, 2},
		{[]string{"eval", "-model", model, "-data", "folder:" + data, "-batch", "0"}, 2},
		{[]string{"eval", "-model", model, "-data", "nope:" + data}, 1},
		{[]string{"eval", "-model", model, "-data", "cifar10:" + dir}, 1}, // no test_batch.bin
	} {
		if _, e, code := runCmd(t, c.args...); code != c.code || strings.Count(strings.TrimSpace(e), "\n") != 0 && code == 1 {
			t.Errorf("%q: exit %d, want %d: %s", c.args, code, c.code, e)
		}
	}
}

// -flip averages each image's probabilities with its mirror's: on a mirror-
// symmetric image it changes nothing, on others it changes the
// probabilities, and the report says it is on.
func TestFlipTTA(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.msgpack")
	if _, e, code := runCmd(t, "init", "-arch", "all-cnn-c", "-width", "0.125", "-o", path); code != 0 {
		t.Fatalf("init: %s", e)
	}
	sym, asym := filepath.Join(dir, "sym.png"), filepath.Join(dir, "asym.png")
	for _, c := range []struct {
		path string
		px   func(x, y int) uint8
	}{
		{sym, func(x, y int) uint8 { return uint8(8 * min(x, 31-x) * (y + 1) % 256) }},
		{asym, func(x, y int) uint8 { return uint8(8 * x * (y + 1) % 256) }},
	} {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for y := range 32 {
			for x := range 32 {
				v := c.px(x, y)
				img.SetRGBA(x, y, color.RGBA{v, 255 - v, v / 2, 255})
			}
		}
		f, err := os.Create(c.path)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, img)
		f.Close()
	}
	probs := func(flip bool) []prediction {
		args := []string{"predict", "-model", path, "-top", "10", "-json", sym, asym}
		if flip {
			args = append(args, "-flip")
		}
		out, e, code := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("predict: %s", e)
		}
		var p []prediction
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain, flipped := probs(false), probs(true)
	byClass := func(p prediction) map[string]float32 {
		m := map[string]float32{}
		for _, c := range p.Top {
			m[c.Class] = c.Prob
		}
		return m
	}
	a, b := byClass(plain[0]), byClass(flipped[0])
	for c, v := range a {
		if d := v - b[c]; d > 1e-6 || d < -1e-6 {
			t.Errorf("symmetric image, class %s: %v without -flip, %v with", c, v, b[c])
		}
	}
	a, b = byClass(plain[1]), byClass(flipped[1])
	same := true
	for c, v := range a {
		same = same && v == b[c]
	}
	if same {
		t.Error("-flip changes nothing on an asymmetric image")
	}
	out, e, code := runCmd(t, "eval", "-model", path, "-data", "folder:"+writeFolder(t, dir, sym), "-flip")
	if code != 0 || !strings.Contains(out, "flip TTA:    on") {
		t.Errorf("eval -flip: exit %d, %s %s", code, out, e)
	}
}

// writeFolder puts an image in a one-class folder under dir and returns the
// folder.
func writeFolder(t *testing.T, dir, img string) string {
	t.Helper()
	f := filepath.Join(dir, "set", "airplane")
	if err := os.MkdirAll(f, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f, "0.png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(f)
}
