package onnx

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/allcnn/allcnn/kernel"
)

// torchCase is a net exported by torch.onnx.export with PyTorch's outputs
// (tools/onnx_nets.py).
type torchCase struct {
	Mean, Std []float32
	Shape     []int
	Pixels    []float32
	Logits    []float32
	Top       []int
	Gradient  []float32
	Deconvnet []float32
	Guided    []float32
}

// PyTorch nets exported to ONNX import to nets whose logits and gradient,
// deconvnet and guided-backpropagation maps are PyTorch's: batch
// normalisation folded, max-pools with and without ceil_mode, average
// pooling after torch's Pad, Gemm after Flatten, leaky ReLU, the final
// Softmax dropped.
func TestImportTorch(t *testing.T) {
	const tol = 1e-4 // relative to the largest magnitude of each tensor
	for _, name := range []string{"batchnorm", "maxpool", "leaky"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			var tc torchCase
			j, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(j, &tc); err != nil {
				t.Fatal(err)
			}
			f, err := Import(b, Options{Mean: tc.Mean, Std: tc.Std})
			if err != nil {
				t.Fatal(err)
			}
			if f.Arch.HasBatchNorm() {
				t.Error("batch normalisation is not folded")
			}
			net, err := f.Net()
			if err != nil {
				t.Fatal(err)
			}
			n, c, h, w := tc.Shape[0], tc.Shape[1], tc.Shape[2], tc.Shape[3]
			if in := f.Arch.Input; in != [3]int{c, h, w} {
				t.Fatalf("input %v, want %v", in, tc.Shape[1:])
			}
			x := kernel.NewTensor(n, c, h, w)
			for i := range n {
				s := c * h * w
				f.Preprocess.Apply(tc.Pixels[i*s:(i+1)*s], x.Data[i*s:(i+1)*s], nil, c)
			}
			out, err := net.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want []float32) {
				d := maxRelDiff(t, got, want)
				t.Logf("%-9s max relative difference %.2g", what, d)
				if d > tol {
					t.Errorf("%s differs from PyTorch's by %.3g relative (tolerance %g)", what, d, tol)
				}
			}
			// The rules must matter on these nets, or the maps test nothing.
			if d, e := maxRelDiff(t, tc.Deconvnet, tc.Gradient), maxRelDiff(t, tc.Guided, tc.Gradient); d < 0.1 || e < 0.1 {
				t.Fatalf("PyTorch's deconvnet and guided maps differ from its gradient by only %.2g and %.2g", d, e)
			}
			check("logits", out.Data, tc.Logits)
			targets := make([]kernel.Target, n)
			for i := range targets {
				targets[i] = kernel.Target{Channel: tc.Top[i]}
			}
			for _, m := range []struct {
				rule kernel.ReLURule
				want []float32
			}{{kernel.Gradient, tc.Gradient}, {kernel.Deconvnet, tc.Deconvnet}, {kernel.Guided, tc.Guided}} {
				dx, _, err := net.Saliency(x, targets, kernel.Rule{ReLU: m.rule})
				if err != nil {
					t.Fatal(err)
				}
				check(m.rule.String(), dx.Data, m.want)
			}
		})
	}
}
