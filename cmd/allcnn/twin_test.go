package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestTwinModel: the weight file that tools/torch/twin.py wrote at the end
// of a run (under torchrun in 'make test-ddp', which names its folder in
// ALLCNN_TWIN_DIR) loads in 'allcnn predict', and its probabilities for
// the run's reference images equal PyTorch's.
func TestTwinModel(t *testing.T) {
	dir := os.Getenv("ALLCNN_TWIN_DIR")
	if dir == "" {
		t.Skip("ALLCNN_TWIN_DIR is not set: 'make test-ddp' trains the PyTorch twin and runs this test on its output")
	}
	var ref []struct {
		Image string    `json:"image"`
		Probs []float64 `json:"probs"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) == 0 {
		t.Fatal("reference.json lists no images")
	}
	args := []string{"predict", "-json", "-top", "1000", "-model", filepath.Join(dir, "model.msgpack")}
	for _, r := range ref {
		args = append(args, filepath.Join(dir, "reference", r.Image))
	}
	stdout, stderr, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("predict exited %d: %s", code, stderr)
	}
	var got []prediction
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("predict -json: %v\n%s", err, stdout)
	}
	if len(got) != len(ref) {
		t.Fatalf("%d predictions for %d images", len(got), len(ref))
	}
	worst := 0.0
	for i, r := range ref {
		if len(got[i].Top) != len(r.Probs) {
			t.Fatalf("%s: %d classes, PyTorch has %d", r.Image, len(got[i].Top), len(r.Probs))
		}
		for _, c := range got[i].Top {
			worst = max(worst, math.Abs(float64(c.Prob)-r.Probs[c.Index]))
		}
	}
	if worst > 1e-5 {
		t.Errorf("probabilities differ from PyTorch's by up to %.2g (want ≤ 1e-5)", worst)
	}
	t.Logf("%d images, |Δp| ≤ %.1g", len(ref), worst)
}
