package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

func TestPredict(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	// Any size: smaller, larger and of another aspect than the 32×32 input.
	imgs := []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "b.jpg"), filepath.Join(dir, "c.png")}
	writeImage(t, imgs[0], 32, 32, 1)
	writeImage(t, imgs[1], 50, 20, 2)
	writeImage(t, imgs[2], 9, 13, 3)

	for _, top := range []string{"3", "10"} {
		// Flags may follow the images.
		out, e, code := runCmd(t, append(append([]string{"predict", "-model", model}, imgs...), "-json", "-top", top)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		var preds []prediction
		if err := json.Unmarshal([]byte(out), &preds); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(preds) != len(imgs) {
			t.Fatalf("%d predictions for %d images", len(preds), len(imgs))
		}
		for i, p := range preds {
			if p.Image != imgs[i] || len(p.Top) != map[string]int{"3": 3, "10": 10}[top] {
				t.Fatalf("-top %s: prediction %d: %+v", top, i, p)
			}
			var sum float64
			for j, c := range p.Top {
				if j > 0 && c.Prob > p.Top[j-1].Prob {
					t.Errorf("%s: not sorted: %+v", p.Image, p.Top)
				}
				if c.Class != cifar10Classes[c.Index] || !(c.Prob >= 0) {
					t.Errorf("%s: %+v", p.Image, c)
				}
				sum += float64(c.Prob)
			}
			if sum > 1+1e-5 || top == "10" && math.Abs(sum-1) > 1e-5 {
				t.Errorf("-top %s: %s: probabilities sum to %v", top, p.Image, sum)
			}
		}
	}

	// Plain text names each image.
	out, _, code := runCmd(t, "predict", "-model", model, "-top", "2", imgs[0])
	if code != 0 || !strings.HasPrefix(out, imgs[0]+"\n") || strings.Count(out, "%") != 2 {
		t.Fatalf("exit %d, output %q", code, out)
	}

	// A file that is not an image, or missing: one line naming it, exit 1.
	bad := filepath.Join(dir, "notes.png")
	os.WriteFile(bad, []byte("hello"), 0o644)
	for _, f := range []string{bad, filepath.Join(dir, "missing.jpg")} {
		out, e, code := runCmd(t, "predict", "-model", model, imgs[0], f)
		if code != 1 || out != "" || !strings.Contains(e, filepath.Base(f)) || strings.Count(strings.TrimSpace(e), "\n") != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", f, code, out, e)
		}
	}
	for _, args := range [][]string{
		{"predict", "-model", model}, {"predict", imgs[0]}, {"predict", "-model", model, "-top", "0", imgs[0]},
	} {
		if _, _, code := runCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// The file's preprocessing is applied: the same weights with per-channel
// normalization give other probabilities than with none.
func TestPredictPreprocesses(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 32, 32, 5)
	f, err := format.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	f.Preprocess = preprocess.Params{Kind: preprocess.Channel, Mean: []float32{0.5, 0.4, 0.3}, Std: []float32{0.2, 0.25, 0.3}}
	norm := filepath.Join(dir, "norm.msgpack")
	if err := format.WriteFile(norm, f); err != nil {
		t.Fatal(err)
	}
	var probs [2][]prediction
	for i, m := range []string{model, norm} {
		out, e, code := runCmd(t, "predict", "-json", "-top", "10", "-model", m, img)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		if err := json.Unmarshal([]byte(out), &probs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if reflect.DeepEqual(probs[0], probs[1]) {
		t.Fatal("per-channel normalization changed nothing")
	}
}
