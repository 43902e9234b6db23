package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sharedImages = "../../../shared/data/cifar10-train-jpg.tar.gz"

// TestPaperShort runs the Table 3 command's short form on a few hundred
// real images (two of the twelve models, one epoch each), checks the table
// it writes, and that running it again trains nothing.
func TestPaperShort(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	if _, err := os.Stat(sharedImages); err != nil {
		t.Skip("the shared CIFAR-10 images are not beside the checkout")
	}
	out := t.TempDir()
	args := []string{"paper", "-short", "-data", "folder:" + sharedImages, "-models", "all-cnn-c,model-a",
		"-per-class", "30", "-val", "10", "-epochs", "1", "-width", "0.125", "-out", out, "-json"}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rows []paperRow
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatalf("%v: %q", err, stdout.String())
	}
	if len(rows) != 2 || rows[0].Model != "model-a" || rows[1].Model != "all-cnn-c" {
		t.Fatalf("rows %+v, want model-a then all-cnn-c (Table 3's order)", rows)
	}
	for _, r := range rows {
		if r.Epochs != 1 || r.Params == 0 || r.ValError <= 0 || r.ValError > 100 || r.PaperError == 0 {
			t.Errorf("row %+v", r)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| model-a | CIFAR-10 |", "12.47%", "| all-cnn-c | CIFAR-10 |", "9.08%", "width 0.125, SGD lr 0.05", "epochs 1"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("table.md lacks %q:\n%s", want, md)
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr.String())
	}
	if n := strings.Count(stderr.String(), "already trained"); n != 2 {
		t.Errorf("second run trained again (%d of 2 skipped):\n%s", n, stderr.String())
	}
	var again []paperRow
	json.Unmarshal(stdout.Bytes(), &again)
	if len(again) != 2 || again[1].ValError != rows[1].ValError {
		t.Errorf("second run's table %+v, first %+v", again, rows)
	}
	// Usage errors.
	for _, bad := range [][]string{{"paper", "-models", "resnet"}, {"paper", "-resume", out}, {"paper", "extra"}} {
		if code := run(context.Background(), bad, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
