// Package e2e trains one small model of each family the commands offer, on
// synthetic image folders, for the end-to-end tests: the trainer's own
// validation accuracy must be what `allcnn eval` and the WebAssembly build
// compute from the saved model file (the input contract,
// preprocess.PlaceResize). It is imported by tests only.
package e2e

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/allcnn/allcnn/trainer"
)

// Family is a model family with the synthetic data it is trained on.
type Family struct {
	Name     string  // a short name for test output
	Model    string  // zoo architecture
	Width    float64 // width multiplier
	W, H     int     // the images' size
	PerClass int     // images per class, Val of them held out
	Val      int
	Resize   int // trainer.Config.Resize (crops of resized images)
	Epochs   int
	LR       float64
}

// Families are the three placements of an image on the input: the
// CIFAR-size net (images at the input's size), the Large All-CNN (32×32
// images on a 126×126 canvas) and the ImageNet net (larger photos resized
// to 256, then cropped to 224).
var Families = []Family{
	{Name: "cifar", Model: "all-cnn-c", Width: 0.125, W: 32, H: 32, PerClass: 40, Val: 10, Epochs: 4, LR: 0.05},
	{Name: "large", Model: "large-all-cnn", Width: 0.0625, W: 32, H: 32, PerClass: 12, Val: 4, Epochs: 2, LR: 0.002},
	{Name: "imagenet", Model: "imagenet-all-cnn", Width: 0.125, W: 300, H: 260, PerClass: 10, Val: 4, Resize: 256, Epochs: 2, LR: 0.01},
}

// Classes is the number of classes of the synthetic data.
const Classes = 3

// Trained is a family's model after training.
type Trained struct {
	Family
	Data      string   // the data spec, folder:DIR
	Model     string   // the weight file
	ValAcc    float64  // the trainer's validation accuracy after the last epoch
	ValFiles  []string // the held-out image files, in the validation split's order
	ValLabels []int
}

// Train writes f's synthetic images under dir, trains its model on them
// with the trainer and saves the model, failing t on any error.
func Train(t testing.TB, f Family, dir string) Trained {
	t.Helper()
	data := filepath.Join(dir, "data")
	tr := Trained{Family: f, Data: "folder:" + data, Model: filepath.Join(dir, "model.msgpack")}
	for c := range Classes {
		for i := range f.PerClass {
			path := filepath.Join(data, fmt.Sprintf("class%d", c), fmt.Sprintf("%03d.png", i))
			writeImage(t, path, f.W, f.H, c, uint64(1000*c+i))
			if i >= f.PerClass-f.Val {
				tr.ValFiles = append(tr.ValFiles, path)
				tr.ValLabels = append(tr.ValLabels, c)
			}
		}
	}
	cfg := trainer.DefaultConfig()
	cfg.Data, cfg.ValPerClass, cfg.Model, cfg.Width = tr.Data, f.Val, f.Model, f.Width
	cfg.Epochs, cfg.Batch, cfg.LR, cfg.Milestones = f.Epochs, 8, f.LR, nil
	cfg.Resize, cfg.Preprocess, cfg.Seed = f.Resize, "channel", 3
	r, err := trainer.Start(cfg, filepath.Join(dir, "run"), io.Discard)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	if err := r.Train(context.Background(), nil); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	tr.ValAcc = r.History[len(r.History)-1].ValAcc
	if err := r.WriteModel(tr.Model); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return tr
}

// writeImage writes a w×h PNG of class c: noise with a square of the
// class's colour somewhere in the middle half, so that a few epochs learn
// it and every placement keeps it.
func writeImage(t testing.TB, path string, w, h, c int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 5))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(64 + r.IntN(96))
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	s := min(w, h) / 3
	x0, y0 := w/4+r.IntN(w/2-s+1), h/4+r.IntN(h/2-s+1)
	col := [Classes]color.RGBA{{230, 40, 40, 255}, {40, 200, 40, 255}, {40, 60, 230, 255}}[c]
	for y := y0; y < y0+s; y++ {
		for x := x0; x < x0+s; x++ {
			img.SetRGBA(x, y, col)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(fh, img); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}
