package dataset

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/allcnn/allcnn/kernel/preprocess"
)

func encodePNG(t testing.TB, im image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, im image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, im, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// patternRGBA is a w×h image whose pixel (x, y) is (seed+x, seed+y, seed+x+y).
func patternRGBA(w, h, seed int) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.Set(x, y, color.RGBA{uint8(seed + x), uint8(seed + y), uint8(seed + x + y), 255})
		}
	}
	return im
}

// tree is a file layout: path → contents; a path ending in "/" is a folder.
type tree map[string][]byte

func (tr tree) writeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range tr {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarGz writes the tree as a gzip tar under root (which may be "" or end
// in "/"), folders first, files in reverse name order (the loader must not
// rely on the archive's order), and returns its bytes.
func (tr tree) tarGz(t testing.TB, root string) []byte {
	t.Helper()
	var names []string
	for n := range tr {
		names = append(names, n)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	sort.SliceStable(names, func(i, j int) bool { return strings.HasSuffix(names[i], "/") && !strings.HasSuffix(names[j], "/") })
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	w := tar.NewWriter(gz)
	for _, n := range names {
		h := &tar.Header{Name: root + n, Mode: 0o644, Size: int64(len(tr[n])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(tr[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeTar(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "set.tar.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pixelsOf returns the 3×h×w float planes of an 8-bit RGB image.
func pixelsOf(im *image.RGBA) []float32 {
	b := im.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := im.RGBAAt(x, y)
			out[y*w+x], out[w*h+y*w+x], out[2*w*h+y*w+x] = float32(c.R), float32(c.G), float32(c.B)
		}
	}
	return out
}

func TestLoadFolder(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 4, 3))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(10 * i)
	}
	alpha := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	for i := range alpha.Pix {
		alpha.Pix[i] = uint8(i)
	}
	layout := tree{
		// Folder names sort to the class order; file names to the image order.
		"zebra/b.png":         encodePNG(t, patternRGBA(4, 3, 20)),
		"zebra/a.png":         encodePNG(t, patternRGBA(4, 3, 10)),
		"ant/001.png":         encodePNG(t, gray),
		"ant/000.png":         encodePNG(t, alpha),
		"ant/002.jpg":         encodeJPEG(t, patternRGBA(4, 3, 100)),
		"ant/.DS_Store":       []byte("junk"),
		"ant/._000.png":       []byte("junk"),
		".cache/whatever.png": []byte("junk"),
		".hidden":             []byte("junk"),
	}
	want := &Dataset{Classes: []string{"ant", "zebra"}, C: 3, H: 3, W: 4, Labels: []int{0, 0, 0, 1, 1}}
	// 000.png: NRGBA with alpha dropped.
	for i := 0; i < 12; i++ {
		want.Images = append(want.Images, float32(alpha.Pix[4*i]))
	}
	for i := 0; i < 12; i++ {
		want.Images = append(want.Images, float32(alpha.Pix[4*i+1]))
	}
	for i := 0; i < 12; i++ {
		want.Images = append(want.Images, float32(alpha.Pix[4*i+2]))
	}
	for range 3 { // 001.png: gray replicated
		for _, v := range gray.Pix {
			want.Images = append(want.Images, float32(v))
		}
	}
	want.Images = append(want.Images, pixelsOf(patternRGBA(4, 3, 100))...) // 002.jpg, approximately
	want.Images = append(want.Images, pixelsOf(patternRGBA(4, 3, 10))...)
	want.Images = append(want.Images, pixelsOf(patternRGBA(4, 3, 20))...)

	for _, c := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"dir", func(t *testing.T) string { return layout.writeDir(t) }},
		{"tar", func(t *testing.T) string { return writeTar(t, layout.tarGz(t, "")) }},
		{"tar under train/", func(t *testing.T) string { return writeTar(t, layout.tarGz(t, "train/")) }},
		{"tar under ./data/train/", func(t *testing.T) string { return writeTar(t, layout.tarGz(t, "./data/train/")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, workers := range []int{1, 3} {
				d, err := LoadFolder(c.path(t), FolderOptions{Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(d.Classes, want.Classes) || d.C != 3 || d.H != 3 || d.W != 4 || !slices.Equal(d.Labels, want.Labels) {
					t.Fatalf("got classes %v %d×%d×%d labels %v, want %v 3×3×4 %v", d.Classes, d.C, d.H, d.W, d.Labels, want.Classes, want.Labels)
				}
				for i, v := range d.Images {
					tol := float32(0)
					if i/36 == 2 { // the JPEG
						tol = 6
					}
					if diff := v - want.Images[i]; diff > tol || diff < -tol {
						t.Fatalf("image %d value %d: %v, want %v", i/36, i%36, v, want.Images[i])
					}
				}
			}
		})
	}
	// Load's folder spec is LoadFolder with no options.
	d, err := Load("folder:" + layout.writeDir(t))
	if err != nil || d.Len() != 5 {
		t.Fatalf("Load folder: %v", err)
	}
}

func TestLoadFolderErrors(t *testing.T) {
	img := encodePNG(t, patternRGBA(4, 3, 0))
	good := tree{"cat/0.png": img, "cat/1.png": img, "dog/0.png": img}
	with := func(extra tree) tree {
		out := tree{}
		for k, v := range good {
			out[k] = v
		}
		for k, v := range extra {
			if v == nil && !strings.HasSuffix(k, "/") {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	cases := []struct {
		name string
		tree tree
		opt  FolderOptions
		want string // the file or folder the error must name
	}{
		{"wrong size", with(tree{"dog/1.png": encodePNG(t, patternRGBA(3, 4, 0))}), FolderOptions{}, "dog/1.png"},
		{"wrong size, first image decides", with(tree{"ant/0.png": encodePNG(t, patternRGBA(5, 5, 0))}), FolderOptions{}, "cat/0.png"},
		{"size option", good, FolderOptions{W: 3, H: 4}, "cat/0.png"},
		{"undecodable", with(tree{"cat/notes.txt": []byte("not an image")}), FolderOptions{}, "cat/notes.txt"},
		{"truncated png", with(tree{"dog/1.png": img[:len(img)/2]}), FolderOptions{}, "dog/1.png"},
		{"empty class", with(tree{"emu/": nil}), FolderOptions{}, "emu"},
		{"class of hidden files only", with(tree{"emu/.keep": []byte{}}), FolderOptions{}, "emu"},
		{"file beside the classes", with(tree{"README": []byte("hi")}), FolderOptions{}, "README"},
		{"nested folder", with(tree{"cat/more/0.png": img}), FolderOptions{}, "cat/more"},
		{"no classes", tree{".x": img}, FolderOptions{}, "no class"},
	}
	for _, c := range cases {
		t.Run("dir/"+c.name, func(t *testing.T) {
			_, err := LoadFolder(c.tree.writeDir(t), c.opt)
			wantDataError(t, err, filepath.FromSlash(c.want))
		})
		t.Run("tar/"+c.name, func(t *testing.T) {
			p := writeTar(t, c.tree.tarGz(t, "train/"))
			_, err := LoadFolder(p, c.opt)
			wantDataError(t, err, p, c.want)
		})
	}

	// Errors only a tar can have.
	mixed := good.tarGz(t, "train/")
	more := tree{"cat/9.png": img}.tarGz(t, "test/")
	both := writeTar(t, catTars(t, mixed, more))
	_, err := LoadFolder(both, FolderOptions{})
	wantDataError(t, err, both, "test/cat/9.png")

	full := good.tarGz(t, "")
	short := writeTar(t, full[:len(full)*2/3])
	_, err = LoadFolder(short, FolderOptions{})
	wantDataError(t, err, short)

	notGzip := writeTar(t, []byte("plain text"))
	_, err = LoadFolder(notGzip, FolderOptions{})
	wantDataError(t, err, notGzip)

	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	w := tar.NewWriter(gz)
	w.WriteHeader(&tar.Header{Name: "cat/0.png", Typeflag: tar.TypeSymlink, Linkname: "../x.png"})
	w.Close()
	gz.Close()
	link := writeTar(t, b.Bytes())
	_, err = LoadFolder(link, FolderOptions{})
	wantDataError(t, err, link, "cat/0.png")

	if _, err := LoadFolder(filepath.Join(t.TempDir(), "absent"), FolderOptions{}); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("absent folder: %v", err)
	}
}

// catTars joins two gzip tars into one holding the entries of both.
func catTars(t *testing.T, a, b []byte) []byte {
	var out bytes.Buffer
	gz := gzip.NewWriter(&out)
	w := tar.NewWriter(gz)
	for _, src := range [][]byte{a, b} {
		zr, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		r := tar.NewReader(zr)
		for {
			h, err := r.Next()
			if err != nil {
				break
			}
			w.WriteHeader(h)
			buf := new(bytes.Buffer)
			buf.ReadFrom(r)
			w.Write(buf.Bytes())
		}
	}
	w.Close()
	gz.Close()
	return out.Bytes()
}

func TestLoadFolderResize(t *testing.T) {
	// Images of any size become Resize×Resize: shorter side scaled to 8,
	// central square kept. The wide image's middle third is white.
	wide := image.NewGray(image.Rect(0, 0, 48, 16))
	for y := 0; y < 16; y++ {
		for x := 12; x < 36; x++ {
			wide.Pix[y*48+x] = 255
		}
	}
	layout := tree{"a/wide.png": encodePNG(t, wide), "a/tall.jpg": encodeJPEG(t, patternRGBA(20, 40, 0)), "b/small.png": encodePNG(t, patternRGBA(4, 4, 0))}
	d, err := LoadFolder(writeTar(t, layout.tarGz(t, "")), FolderOptions{Resize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.H != 8 || d.W != 8 {
		t.Fatalf("%d images of %d×%d", d.Len(), d.H, d.W)
	}
	// Images: a/tall.jpg, a/wide.png, b/small.png.
	for i, v := range d.Image(1) {
		if v != 255 {
			t.Fatalf("wide image, value %d: %v, want the white middle", i, v)
		}
	}
	// The resampling is the input contract's (preprocess.FromRGBA), so
	// that a model file's consumers see the images the run trained on.
	for i, name := range []string{"a/tall.jpg", "a/wide.png", "b/small.png"} {
		im, _, err := image.Decode(bytes.NewReader(layout[name]))
		if err != nil {
			t.Fatal(err)
		}
		b := im.Bounds()
		rgba := make([]byte, 0, 4*b.Dx()*b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(im.At(x, y)).(color.NRGBA)
				rgba = append(rgba, c.R, c.G, c.B, 255)
			}
		}
		want, err := preprocess.FromRGBA(rgba, b.Dx(), b.Dy(), 3, 8, 8)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range d.Image(i) {
			if w := float32(math.Round(float64(want[j]))); v != w {
				t.Fatalf("%s, value %d: %v, want %v (FromRGBA, rounded)", name, j, v, w)
			}
		}
	}
}

// realTar is the CIFAR-10 training set as JPEGs (shared/data/README.md).
const realTar = "../../shared/data/cifar10-train-jpg.tar.gz"

func TestLoadCIFAR10JPEGTar(t *testing.T) {
	if _, err := os.Stat(realTar); err != nil {
		t.Skip("no", realTar)
	}
	if testing.Short() {
		t.Skip("loads 50,000 images")
	}
	start := time.Now()
	d, err := Load("folder:" + realTar)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d images in %v", d.Len(), time.Since(start))
	// Sorted folder names are the CIFAR-10 label order.
	if !slices.Equal(d.Classes, cifar10.classes) {
		t.Errorf("classes %v, want %v", d.Classes, cifar10.classes)
	}
	if d.Len() != 50000 || d.C != 3 || d.H != 32 || d.W != 32 || len(d.Images) != 50000*3072 {
		t.Fatalf("%d images of %d×%d×%d", d.Len(), d.C, d.H, d.W)
	}
	for c, n := range d.classCounts() {
		if n != 5000 {
			t.Errorf("class %s: %d images, want 5000", d.Classes[c], n)
		}
	}
	var sum float64
	for _, v := range d.Image(0) {
		if v < 0 || v > 255 {
			t.Fatalf("pixel %v out of [0, 255]", v)
		}
		sum += float64(v)
	}
	if mean := sum / 3072; mean < 20 || mean > 235 {
		t.Errorf("first image's mean pixel %v: not a photo?", mean)
	}
	train, val := d.Split(500)
	if train.Len() != 45000 || val.Len() != 5000 || val.Labels[0] != 0 || val.Labels[4999] != 9 {
		t.Errorf("Split(500): %d + %d images", train.Len(), val.Len())
	}
}

func BenchmarkLoadCIFAR10JPEGTar(b *testing.B) {
	if _, err := os.Stat(realTar); err != nil {
		b.Skip("no", realTar)
	}
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			for b.Loop() {
				if _, err := LoadFolder(realTar, FolderOptions{Workers: w}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A pax global header (git archive starts its tars with one) is metadata of
// the archive, not an entry of the data set.
func TestLoadFolderTarGlobalHeader(t *testing.T) {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	w := tar.NewWriter(gz)
	if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "0123abcd"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cat/0.png", "dog/0.png"} {
		data := encodePNG(t, patternRGBA(4, 4, len(name)))
		if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	w.Close()
	gz.Close()
	d, err := LoadFolder(writeTar(t, b.Bytes()), FolderOptions{})
	if err != nil || d.Len() != 2 || !slices.Equal(d.Classes, []string{"cat", "dog"}) {
		t.Fatalf("%v, %+v", err, d)
	}
}
