package onnx

import (
	"reflect"
	"testing"
)

// Every test net exports and imports back to the same architecture (its
// batchnorms folded into their convolutions), class names and
// preprocessing, and the same logits.
func TestRoundTrip(t *testing.T) {
	for i, tn := range testNets(t) {
		t.Run(tn.name, func(t *testing.T) {
			f := seededFile(t, tn.spec, tn.prep, uint64(i+1))
			b, err := Export(f)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Import(b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if want := f.Arch.WithoutBatchNorm(); !reflect.DeepEqual(g.Arch, want) {
				t.Errorf("architecture:\n got %+v\nwant %+v", g.Arch, want)
			}
			if !reflect.DeepEqual(g.Classes, f.Classes) {
				t.Errorf("classes %q, want %q", g.Classes, f.Classes)
			}
			if !reflect.DeepEqual(g.Preprocess, f.Preprocess) {
				t.Errorf("preprocessing %+v, want %+v", g.Preprocess, f.Preprocess)
			}
			in := f.Arch.Input
			sh, sw := f.Preprocess.SourceSize(in)
			img := pixels(3, in[0], sh, sw, 5)
			want, got := logits(t, f, img, 3), logits(t, g, img, 3)
			d := maxRelDiff(t, got, want)
			t.Logf("max relative difference of the logits %.2g", d)
			if d > 1e-5 {
				t.Errorf("logits differ by %.3g relative", d)
			}
		})
	}
}
