package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// paperNames maps the names of PAPER.md's table to the zoo's.
var paperNames = map[string]string{
	"Model A": "model-a", "Strided-CNN-A": "strided-cnn-a", "ConvPool-CNN-A": "convpool-cnn-a", "All-CNN-A": "all-cnn-a",
	"Model B": "model-b", "Strided-CNN-B": "strided-cnn-b", "ConvPool-CNN-B": "convpool-cnn-b", "All-CNN-B": "all-cnn-b",
	"Model C": "model-c", "Strided-CNN-C": "strided-cnn-c", "ConvPool-CNN-C": "convpool-cnn-c", "All-CNN-C": "all-cnn-c",
	"Large All-CNN (126², 10 cl.)": "large-all-cnn", "ImageNet all-conv (224²)": "imagenet-all-cnn",
}

// TestModelsMatchPaper reads the table of PAPER.md §2 itself and compares
// every row with `allcnn models -json`.
func TestModelsMatchPaper(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "PAPER.md"))
	if err != nil {
		t.Skipf("PAPER.md not found beside the checkout: %v", err)
	}
	cell := regexp.MustCompile(`\|\s*\**([^|*]+?)\**\s*\|\s*\**([\d,]+)\**\s*\|\s*\**([\d.]+) ([MG])\**\s*\|`)
	want := map[string][2]float64{}
	for _, m := range cell.FindAllStringSubmatch(string(doc), -1) {
		name, ok := paperNames[strings.TrimSpace(m[1])]
		if !ok {
			t.Fatalf("PAPER.md row %q is not a zoo model", m[1])
		}
		params, _ := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		macs, _ := strconv.ParseFloat(m[3], 64)
		if m[4] == "G" {
			macs *= 1000
		}
		want[name] = [2]float64{float64(params), macs}
	}
	if len(want) != 14 {
		t.Fatalf("read %d rows from PAPER.md, want 14", len(want))
	}
	out, errOut, code := runCmd(t, "models", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []modelRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 14 {
		t.Fatalf("%d models", len(rows))
	}
	for _, r := range rows {
		w, ok := want[r.Name]
		if !ok {
			t.Errorf("%s not in PAPER.md", r.Name)
			continue
		}
		if float64(r.Params) != w[0] {
			t.Errorf("%s: %d params, PAPER.md %v", r.Name, r.Params, w[0])
		}
		// PAPER.md prints 0.1 M, or 0.01 G.
		got, unit := float64(r.MACs)/1e6, 0.1
		if w[1] >= 1000 {
			unit = 10
		}
		if d := got - w[1]; d < -unit/2 || d > unit/2 {
			t.Errorf("%s: %.1f M MACs, PAPER.md %.1f M", r.Name, got, w[1])
		}
		if r.Output[1] != 1 || r.Output[2] != 1 {
			t.Errorf("%s: output %v", r.Name, r.Output)
		}
	}
}

func TestInitInspect(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.msgpack")
	_, e, code := runCmd(t, "init", "-model", "all-cnn-c", "-width", "0.25", "-classes", "7", "-seed", "3", "-dtype", "f16", "-o", path)
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, e)
	}
	out, e, code := runCmd(t, "inspect", "-json", path)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, e)
	}
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Model.Name != "all-cnn-c" || len(r.Classes) != 7 || r.Model.Output[0] != 7 || len(r.Tensors) != 18 || r.Tensors[0].DType != "f16" || r.Checksum != "ok" {
		t.Fatalf("unexpected report: %+v", r)
	}
	// Same seed, same file contents (but for the creation time).
	if r.Tensors[0].RMS == 0 {
		t.Fatal("weights not initialized")
	}

	// A damaged file: one line, non-zero exit.
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	bad := filepath.Join(dir, "bad.msgpack")
	os.WriteFile(bad, b, 0o644)
	_, e, code = runCmd(t, "inspect", bad)
	if code == 0 || strings.Count(strings.TrimSpace(e), "\n") != 0 || !strings.Contains(e, "bad.msgpack") {
		t.Fatalf("damaged file: exit %d, stderr %q", code, e)
	}
	// A missing file.
	if _, e, code = runCmd(t, "inspect", filepath.Join(dir, "none")); code == 0 || e == "" {
		t.Fatalf("missing file: exit %d", code)
	}
}

func TestInitFromJSONArch(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "tiny.json")
	os.WriteFile(arch, []byte(`{"name":"tiny","input":[3,8,8],"layers":[{"type":"conv","name":"conv1","out":4,"kernel":3,"pad":1},{"type":"relu"},{"type":"conv","name":"conv2","out":3,"kernel":1},{"type":"gap"}]}`), 0o644)
	out := filepath.Join(dir, "t.msgpack")
	if _, e, code := runCmd(t, "init", "-arch", arch, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	o, _, code := runCmd(t, "inspect", out)
	if code != 0 || !strings.Contains(o, "tiny") || !strings.Contains(o, "class2") {
		t.Fatalf("inspect: %d %s", code, o)
	}
	os.WriteFile(arch, []byte(`{"input":[3,8,8],"layers":[{"type":"pool"}]}`), 0o644)
	if _, e, code := runCmd(t, "init", "-arch", arch, "-o", out); code == 0 || !strings.Contains(e, "tiny.json") {
		t.Fatalf("bad arch: exit %d: %s", code, e)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2}, {[]string{"nope"}, 2}, {[]string{"help"}, 0}, {[]string{"models", "-help"}, 0},
		{[]string{"init"}, 2}, {[]string{"init", "-model", "all-cnn-z", "-o", "x"}, 2}, {[]string{"inspect"}, 2},
		{[]string{"models", "-bogus"}, 2}, {[]string{"help", "init"}, 0},
	} {
		if _, _, code := runCmd(t, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
