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

// paperNames maps the names of the table of NOTES.md §2 to the zoo's.
var paperNames = map[string]string{
	"Model A": "model-a", "Strided-CNN-A": "strided-cnn-a", "ConvPool-CNN-A": "convpool-cnn-a", "All-CNN-A": "all-cnn-a",
	"Model B": "model-b", "Strided-CNN-B": "strided-cnn-b", "ConvPool-CNN-B": "convpool-cnn-b", "All-CNN-B": "all-cnn-b",
	"Model C": "model-c", "Strided-CNN-C": "strided-cnn-c", "ConvPool-CNN-C": "convpool-cnn-c", "All-CNN-C": "all-cnn-c",
	"Large All-CNN (126², 10 cl.)": "large-all-cnn", "ImageNet all-conv (224²)": "imagenet-all-cnn",
}

// TestModelsMatchPaper reads the table of NOTES.md §2 itself and compares
// every row with `allcnn models -json`.
func TestModelsMatchPaper(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "NOTES.md"))
	if err != nil {
		t.Skipf("NOTES.md not found at the repository root: %v", err)
	}
	cell := regexp.MustCompile(`\|\s*\**([^|*]+?)\**\s*\|\s*\**([\d,]+)\**\s*\|\s*\**([\d.]+) ([MG])\**\s*\|`)
	want := map[string][2]float64{}
	for _, m := range cell.FindAllStringSubmatch(string(doc), -1) {
		name, ok := paperNames[strings.TrimSpace(m[1])]
		if !ok {
			t.Fatalf("NOTES.md row %q is not a zoo model", m[1])
		}
		params, _ := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		macs, _ := strconv.ParseFloat(m[3], 64)
		if m[4] == "G" {
			macs *= 1000
		}
		want[name] = [2]float64{float64(params), macs}
	}
	if len(want) != 14 {
		t.Fatalf("read %d rows from NOTES.md, want 14", len(want))
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
			t.Errorf("%s not in NOTES.md", r.Name)
			continue
		}
		if float64(r.Params) != w[0] {
			t.Errorf("%s: %d params, NOTES.md %v", r.Name, r.Params, w[0])
		}
		// NOTES.md prints 0.1 M, or 0.01 G.
		got, unit := float64(r.MACs)/1e6, 0.1
		if w[1] >= 1000 {
			unit = 10
		}
		if d := got - w[1]; d < -unit/2 || d > unit/2 {
			t.Errorf("%s: %.1f M MACs, NOTES.md %.1f M", r.Name, got, w[1])
		}
		if r.Output[1] != 1 || r.Output[2] != 1 {
			t.Errorf("%s: output %v", r.Name, r.Output)
		}
	}
}

func TestInitInspect(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.msgpack")
	_, e, code := runCmd(t, "init", "-arch", "all-cnn-c", "-width", "0.25", "-classes", "7", "-seed", "3", "-dtype", "f16", "-o", path)
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

// TestInitArch: -arch is a zoo model's name or a JSON architecture file (a
// value that ends in .json or names an existing file); -width and -classes
// apply to a name only; -model NAME, the old spelling, works as -arch NAME
// with a warning, in init and bench.
func TestInitArch(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "tiny.json")
	plain := filepath.Join(dir, "tiny") // an existing file without .json
	for _, p := range []string{arch, plain} {
		os.WriteFile(p, []byte(`{"name":"tiny","input":[3,8,8],"layers":[{"type":"conv","name":"conv1","out":4,"kernel":3,"pad":1},{"type":"relu"},{"type":"conv","name":"conv2","out":3,"kernel":1},{"type":"gap"}]}`), 0o644)
	}
	out := filepath.Join(dir, "m.msgpack")
	const warning = "allcnn: warning: -model model-c is now -arch model-c (the old spelling goes in the next release)\n"
	for _, c := range []struct {
		args   []string
		code   int
		stdout string // the start of init's line
		stderr string // contained in stderr
	}{
		{[]string{"init", "-o", out}, 0, "wrote " + out + ": all-cnn-c, ", ""},
		{[]string{"init", "-arch", "model-c", "-width", "0.125", "-classes", "4", "-o", out}, 0, "wrote " + out + ": model-c, 15376 parameters, 4 classes", ""},
		{[]string{"init", "-arch", arch, "-o", out}, 0, "wrote " + out + ": tiny, 127 parameters, 3 classes", ""},
		{[]string{"init", "-arch", plain, "-o", out}, 0, "wrote " + out + ": tiny, ", ""},
		{[]string{"init", "-arch", arch, "-width", "0.5", "-o", out}, 2, "", "-width does not apply with -arch " + arch},
		{[]string{"init", "-arch", arch, "-classes", "4", "-o", out}, 2, "", "-classes does not apply with -arch " + arch},
		{[]string{"init", "-arch", filepath.Join(dir, "none.json"), "-o", out}, 1, "", "none.json"},
		{[]string{"init", "-model", "model-c", "-width", "0.125", "-classes", "4", "-o", out}, 0, "wrote " + out + ": model-c, 15376 parameters, 4 classes", warning},
		{[]string{"init", "-model", "model-c", "-arch", "all-cnn-c", "-o", out}, 2, "", "-model model-c is the old spelling of -arch; give -arch alone"},
		{[]string{"bench", "-arch", arch, "-width", "0.5"}, 2, "", "-width does not apply with -arch"},
		{[]string{"bench", "-model", "all-cnn-z"}, 2, "", "allcnn: warning: -model all-cnn-z is now -arch all-cnn-z"},
	} {
		o, e, code := runCmd(t, c.args...)
		if code != c.code || !strings.HasPrefix(o, c.stdout) || !strings.Contains(e, c.stderr) || (c.stderr == "" && e != "") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stdout %q…, stderr with %q", c.args, code, o, e, c.code, c.stdout, c.stderr)
		}
	}
}

// TestFlagMeanings: -model is a weight file in every command that takes
// one, and an architecture only as the old spelling of -arch.
func TestFlagMeanings(t *testing.T) {
	for _, c := range [][]string{{"predict"}, {"eval"}, {"viz"}, {"viz", "filters"}, {"viz", "top-patches"}, {"viz", "sanity"}, {"init"}, {"bench"}} {
		_, e, _ := runCmd(t, append(c, "-help")...)
		model, arch := flagHelp(e, "model"), flagHelp(e, "arch")
		switch c[0] {
		case "init", "bench":
			if !strings.Contains(model, "old spelling of -arch") || !strings.Contains(arch, archUsage) {
				t.Errorf("%v -help: -model %q, -arch %q", c, model, arch)
			}
		default:
			if !strings.Contains(model, "weight file") || arch != "" {
				t.Errorf("%v -help: -model %q, -arch %q", c, model, arch)
			}
		}
	}
}

// flagHelp is the text that flag.PrintDefaults printed for -name in help,
// or "".
func flagHelp(help, name string) string {
	_, rest, ok := strings.Cut(help, "\n  -"+name+" ")
	if !ok {
		return ""
	}
	text, _, _ := strings.Cut(rest, "\n  -")
	return text
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2}, {[]string{"nope"}, 2}, {[]string{"help"}, 0}, {[]string{"models", "-help"}, 0},
		{[]string{"init"}, 2}, {[]string{"init", "-arch", "all-cnn-z", "-o", "x"}, 2}, {[]string{"inspect"}, 2},
		{[]string{"models", "-bogus"}, 2}, {[]string{"help", "init"}, 0},
	} {
		if _, _, code := runCmd(t, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
