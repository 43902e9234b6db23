package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allcnn/allcnn/internal/e2e"
)

// TestEndToEnd trains a model of each family (small CIFAR net, Large
// All-CNN on its canvas, ImageNet net on crops of resized photos), saves
// it, and checks that `allcnn eval` on the held-out images finds the
// trainer's own validation accuracy, to within one image, and that
// `allcnn predict` on the image files agrees with eval's first choice on
// each: both read images through the model file's input contract.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three models")
	}
	for _, f := range e2e.Families {
		t.Run(f.Name, func(t *testing.T) {
			start := time.Now()
			tr := e2e.Train(t, f, t.TempDir())
			out, e, code := runCmd(t, "eval", "-model", tr.Model, "-data", tr.Data, "-val", fmt.Sprint(f.Val), "-json")
			if code != 0 {
				t.Fatalf("eval: exit %d: %s", code, e)
			}
			var r evalReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			n := len(tr.ValFiles)
			if r.Images != n {
				t.Fatalf("eval read %d images, the trainer held out %d", r.Images, n)
			}
			got, want := n-int(math.Round(r.Top1*float64(n))), int(math.Round(tr.ValAcc*float64(n)))
			t.Logf("%s: trainer %d/%d right, eval %d/%d (%v)", f.Name, want, n, got, n, time.Since(start).Round(time.Millisecond))
			if d := got - want; d < -1 || d > 1 {
				t.Errorf("eval finds %d of %d right, the trainer %d", got, n, want)
			}

			// predict on the files: its first choice is right as often as
			// eval says (a file and its data set image are the same image).
			args := append([]string{"predict", "-model", tr.Model, "-top", "1", "-json"}, tr.ValFiles...)
			out, e, code = runCmd(t, args...)
			if code != 0 {
				t.Fatalf("predict: exit %d: %s", code, e)
			}
			var preds []prediction
			if err := json.Unmarshal([]byte(out), &preds); err != nil {
				t.Fatal(err)
			}
			right := 0
			for i, p := range preds {
				if p.Top[0].Class == fmt.Sprintf("class%d", tr.ValLabels[i]) {
					right++
				}
				if filepath.Base(p.Image) != filepath.Base(tr.ValFiles[i]) {
					t.Fatalf("prediction %d is of %s", i, p.Image)
				}
			}
			if d := right - got; d < -1 || d > 1 {
				t.Errorf("predict finds %d of %d right, eval %d", right, n, got)
			}
			if strings.Contains(e, "warning") {
				t.Errorf("a freshly trained model warns: %s", e)
			}
		})
	}
}
