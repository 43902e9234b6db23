// Package onnxtool runs the external checks of exported ONNX models for the
// tests of the onnx package and of the allcnn command: python3-onnx's
// checker (Debian's, at /usr/bin/python3) and ONNX Runtime's native CPU
// build (npm's onnxruntime-node in tools/ort, installed by `make ort`).
// Each check skips its test, saying why, where its tool is missing. It is
// imported by tests only.
package onnxtool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Python is the interpreter that has python3-onnx.
const Python = "/usr/bin/python3"

// root is the repository's root directory, found from this file's place.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Check runs onnx.checker.check_model with full_check (which runs shape
// inference too) on the model files at paths, in one process.
func Check(t testing.TB, paths ...string) {
	t.Helper()
	const script = `import sys
try:
    import onnx
except ImportError:
    sys.exit(3)
failed = False
for p in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(p), full_check=True)
    except Exception as e:
        print(p, e)
        failed = True
sys.exit(failed)`
	out, err := exec.Command(Python, append([]string{"-c", script}, paths...)...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3, errors.Is(err, fs.ErrNotExist):
		t.Skip("skip: python3-onnx is missing (make deps): the ONNX checker does not run")
	default:
		t.Errorf("onnx.checker: %v\n%s", err, out)
	}
}

// Job is one model run by ONNX Runtime on one batch: the model file, a
// file of little-endian float32 values for its one input (WriteFloats),
// and the input's shape.
type Job struct {
	Model string `json:"model"`
	Input string `json:"input"`
	Shape []int  `json:"shape"`
}

// Result is a job's first output.
type Result struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

// NeedRuntime skips t unless node and tools/ort's onnxruntime-node are
// there.
func NeedRuntime(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skip: node is missing: ONNX Runtime does not run")
	}
	if _, err := os.Stat(filepath.Join(root(), "tools", "ort", "node_modules", "onnxruntime-node")); err != nil {
		t.Skip("skip: onnxruntime-node is not in tools/ort (make ort): ONNX Runtime does not run")
	}
}

// Run runs the jobs in one ONNX Runtime process (tools/ort/run.mjs, one
// thread) and returns their outputs. Call NeedRuntime first.
func Run(t testing.TB, jobs []Job) []Result {
	t.Helper()
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(root(), "tools", "ort", "run.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v\n%s", err, stderr.Bytes())
	}
	var res []Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != len(jobs) {
		t.Fatalf("ONNX Runtime: %d results for %d jobs", len(res), len(jobs))
	}
	return res
}

// WriteFloats writes x as little-endian float32 values to the file
// dir/name and returns its path.
func WriteFloats(t testing.TB, dir, name string, x []float32) string {
	t.Helper()
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// MaxAbsDiff is max |a[i] − b[i]|, +Inf for different lengths.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
