package main

import (
	"encoding/json"
	"fmt"
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
