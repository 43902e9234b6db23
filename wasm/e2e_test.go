package wasm_test

import (
	"image"
	"image/draw"
	_ "image/jpeg" // the decoders readRGBA uses
	_ "image/png"
	"os"
	"testing"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/internal/e2e"
	"github.com/allcnn/allcnn/kernel"
)

// TestEndToEnd trains a model of each family (internal/e2e: the CIFAR-size
// net, the Large All-CNN on its canvas, the ImageNet net on crops) and
// classifies the held-out image files natively and in the guest, from
// their RGBA pixels: the guest gives the native first choice on each, and
// the native choices are right as often as the trainer's validation says
// (to within one image: the trainer reads the same files through its data
// loader, a different decoder path to the same pixels).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three models")
	}
	g := instance(t, variants[0])
	for _, f := range e2e.Families {
		t.Run(f.Name, func(t *testing.T) {
			tr := e2e.Train(t, f, t.TempDir())
			file, err := os.ReadFile(tr.Model)
			if err != nil {
				t.Fatal(err)
			}
			native, err := allcnn.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			h, msg := g.load(t, file)
			if h == 0 {
				t.Fatalf("load: %s", msg)
			}
			defer g.call(t, "unload", uint64(h))
			k := native.Classes()
			right := 0
			for i, path := range tr.ValFiles {
				img := readRGBA(t, path)
				w, ht := img.Rect.Dx(), img.Rect.Dy()
				want, err := native.Classify(img.Pix, w, ht)
				if err != nil {
					t.Fatal(err)
				}
				ip, out := g.put(t, img.Pix), g.alloc(t, 4*k)
				if g.call(t, "classify", uint64(h), uint64(ip), i32(w), i32(ht), uint64(out)) != 0 {
					t.Fatalf("classify: %s", g.lastError(t))
				}
				got := g.getFloats(t, out, k)
				g.free(t, ip, out)
				if a, b := kernel.Argmax(got), kernel.Argmax(want); a != b {
					t.Errorf("%s: the guest's first choice is %d, native code's %d (probabilities %v and %v)", path, a, b, got, want)
				}
				if kernel.Argmax(want) == tr.ValLabels[i] {
					right++
				}
			}
			n := len(tr.ValFiles)
			trained := int(tr.ValAcc*float64(n) + 0.5)
			t.Logf("%s: %d of %d right from the files, the trainer %d", f.Name, right, n, trained)
			if d := right - trained; d < -1 || d > 1 {
				t.Errorf("%d of %d right from the files, the trainer's validation %d", right, n, trained)
			}
		})
	}
}

// readRGBA decodes an image file into RGBA pixels.
func readRGBA(t *testing.T, path string) *image.RGBA {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	src, _, err := image.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, src.Bounds().Dx(), src.Bounds().Dy()))
	draw.Draw(img, img.Rect, src, src.Bounds().Min, draw.Src)
	return img
}
