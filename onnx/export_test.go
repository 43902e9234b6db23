package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/allcnn/allcnn/internal/onnxtool"
	"github.com/allcnn/allcnn/kernel"
)

// exported is a test net's export, and the same graph without its final
// Softmax, with a batch of random images and the kernel's outputs.
type exported struct {
	testNet
	path, logitsPath string
	input            string
	shape            []int
	probs, logits    []float32 // the kernel's
}

func exportAll(t *testing.T) []exported {
	dir := t.TempDir()
	var out []exported
	for i, tn := range testNets(t) {
		f := seededFile(t, tn.spec, tn.prep, uint64(i+1))
		b, err := Export(f)
		if err != nil {
			t.Fatalf("%s: %v", tn.name, err)
		}
		e := exported{testNet: tn, path: filepath.Join(dir, tn.name+".onnx"), logitsPath: filepath.Join(dir, tn.name+".logits.onnx")}
		if err := os.WriteFile(e.path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// Random nets give probabilities close to uniform, which hide
		// errors: ONNX Runtime also runs the graph up to the logits.
		m, err := exportModel(f)
		if err != nil {
			t.Fatal(err)
		}
		g := m.Graph
		g.Node = g.Node[:len(g.Node)-1]
		g.Output[0].Name = proto.String(g.Node[len(g.Node)-1].GetOutput()[0])
		if err := os.WriteFile(e.logitsPath, marshal(t, m), 0o644); err != nil {
			t.Fatal(err)
		}

		in := f.Arch.Input
		sh, sw := f.Preprocess.SourceSize(in)
		const n = 3
		img := pixels(n, in[0], sh, sw, uint64(i+10))
		e.input, e.shape = onnxtool.WriteFloats(t, dir, tn.name+".f32", img), []int{n, in[0], sh, sw}
		e.logits = logits(t, f, img, n)
		e.probs = make([]float32, len(e.logits))
		kernel.Softmax(e.logits, len(f.Classes), e.probs)
		out = append(out, e)
	}
	return out
}

// The exported models pass python3-onnx's checker, with shape inference.
func TestExportChecker(t *testing.T) {
	var paths []string
	for _, e := range exportAll(t) {
		paths = append(paths, e.path)
	}
	onnxtool.Check(t, paths...)
}

// ONNX Runtime computes the kernel's logits and probabilities from the
// exported models, for every layer type, preprocessing and placement.
func TestExportORT(t *testing.T) {
	onnxtool.NeedRuntime(t)
	es := exportAll(t)
	var jobs []onnxtool.Job
	for _, e := range es {
		jobs = append(jobs,
			onnxtool.Job{Model: e.path, Input: e.input, Shape: e.shape},
			onnxtool.Job{Model: e.logitsPath, Input: e.input, Shape: e.shape})
	}
	res := onnxtool.Run(t, jobs)
	for i, e := range es {
		p, z := res[2*i], res[2*i+1]
		dp, dz := onnxtool.MaxAbsDiff(p.Data, e.probs), maxRelDiff(t, z.Data, e.logits)
		t.Logf("%-13s max |Δp| %.2g, logits max relative difference %.2g (output %v)", e.name, dp, dz, p.Shape)
		if dp > 1e-5 || dz > 1e-5 || len(p.Shape) != 2 || p.Shape[1] != len(e.logits)/3 {
			t.Errorf("%s: ONNX Runtime's probabilities %v differ from the kernel's by %.3g, its logits by %.3g relative", e.name, p.Shape, dp, dz)
		}
	}
}
