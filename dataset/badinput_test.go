package dataset

// Bad input, at the loaders (issue 18): every malformed data set is refused
// with an error that names the file and says what is wrong, returns no data
// set, writes nothing, and costs no more memory than its bytes.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/internal/testimage"
)

// tarEntry is one raw entry of a hand-made tar: any name, type and size.
type tarEntry struct {
	name string
	typ  byte
	size int64  // the size the header claims
	data []byte // what follows it
	link string
}

// rawTarGz writes entries as a gzip tar, headers as given: a size larger
// than the data gives a truncated archive.
func rawTarGz(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	w := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Size: e.size, Mode: 0o644, Linkname: e.link}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush() // Close would complain of an entry cut short
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func reg(name string, data []byte) tarEntry {
	return tarEntry{name: name, typ: tar.TypeReg, size: int64(len(data)), data: data}
}

// listing is every path under dir with its size, to show that loading wrote
// nothing.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d", p, fi.Mode(), fi.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestLoadBadInput(t *testing.T) {
	img := encodePNG(t, patternRGBA(4, 3, 0))
	rec10 := func(label byte) []byte { return append([]byte{label}, make([]byte, cifarPixels)...) }
	rec100 := func(coarse, fine byte) []byte { return append([]byte{coarse, fine}, make([]byte, cifarPixels)...) }
	file := func(name string, data []byte) func(t *testing.T, dir string) string {
		return func(t *testing.T, dir string) string {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	folder := func(tr tree) func(t *testing.T, dir string) string {
		return func(t *testing.T, dir string) string {
			for name, data := range tr {
				file(name, data)(t, dir)
			}
			return dir
		}
	}
	targz := func(entries ...tarEntry) func(t *testing.T, dir string) string {
		return func(t *testing.T, dir string) string {
			return file("set.tar.gz", rawTarGz(t, entries...))(t, dir)
		}
	}
	const huge = "a 100000×100000 image is empty or over 67108864 pixels"
	for _, c := range []struct {
		name  string
		kind  string                                // spec prefix; "cifar10-test" reads the test split
		write func(t *testing.T, dir string) string // writes the input into dir, returns the spec's path
		opt   FolderOptions                         // for folder: LoadFolder's options
		want  []string                              // words the error must hold, besides the input's path
	}{
		// CIFAR binary.
		{"CIFAR-10 length not whole records", "cifar10-test", func(t *testing.T, dir string) string {
			file("test_batch.bin", append(append(rec10(1), rec10(2)...), 1, 2, 3))(t, dir)
			return dir
		}, FolderOptions{}, []string{"test_batch.bin", "6149 bytes is not a whole number of 3073-byte records", "record 2 is truncated"}},
		{"CIFAR-10 zero bytes", "cifar10-test", func(t *testing.T, dir string) string {
			file("test_batch.bin", nil)(t, dir)
			return dir
		}, FolderOptions{}, []string{"test_batch.bin", "empty file"}},
		{"CIFAR-10 label 10", "cifar10-test", func(t *testing.T, dir string) string {
			file("test_batch.bin", append(rec10(9), rec10(10)...))(t, dir)
			return dir
		}, FolderOptions{}, []string{"test_batch.bin", "record 1", "label 10 out of range [0, 10)"}},
		{"CIFAR-10 label 255", "cifar10-test", func(t *testing.T, dir string) string {
			file("test_batch.bin", rec10(255))(t, dir)
			return dir
		}, FolderOptions{}, []string{"record 0", "label 255 out of range"}},
		{"CIFAR-100 fine label 100", "cifar100-test", func(t *testing.T, dir string) string {
			file("test.bin", rec100(3, 100))(t, dir)
			return dir
		}, FolderOptions{}, []string{"test.bin", "record 0", "label 100 out of range [0, 100)"}},
		{"CIFAR-100 read as CIFAR-10 records", "cifar100-test", func(t *testing.T, dir string) string {
			file("test.bin", append(rec10(1), rec10(2)...))(t, dir)
			return dir
		}, FolderOptions{}, []string{"6146 bytes is not a whole number of 3074-byte records"}},

		// Image folders.
		{"PNG declaring 100000×100000", "folder", folder(tree{"cat/0.png": img, "cat/1.png": testimage.DeclaredPNG(100000, 100000)}),
			FolderOptions{}, []string{filepath.Join("cat", "1.png"), huge}},
		{"resize to 9000×9000", "folder", folder(tree{"cat/0.png": img}),
			FolderOptions{Resize: 9000}, []string{"resize 9000: a 9000×9000 image is over 67108864 pixels"}},
		{"zero-byte image", "folder", folder(tree{"cat/0.png": img, "dog/0.png": nil}),
			FolderOptions{}, []string{filepath.Join("dog", "0.png"), "unknown format"}},
		{"text as image", "folder", folder(tree{"cat/0.png": img, "cat/1.jpg": []byte("hello")}),
			FolderOptions{}, []string{filepath.Join("cat", "1.jpg"), "unknown format"}},

		// Gzip tars.
		{"tar symlink", "folder", targz(reg("cat/0.png", img), tarEntry{name: "cat/1.png", typ: tar.TypeSymlink, link: "/etc/passwd"}),
			FolderOptions{}, []string{"cat/1.png", "not a regular file or folder (tar type '2')"}},
		{"tar hard link", "folder", targz(reg("cat/0.png", img), tarEntry{name: "cat/1.png", typ: tar.TypeLink, link: "cat/0.png"}),
			FolderOptions{}, []string{"cat/1.png", "not a regular file or folder (tar type '1')"}},
		{"tar device", "folder", targz(reg("cat/0.png", img), tarEntry{name: "cat/null", typ: tar.TypeChar}),
			FolderOptions{}, []string{"cat/null", "tar type '3'"}},
		{"tar ../ entry", "folder", targz(reg("../evil/cat/0.png", img)),
			FolderOptions{}, []string{`entry "../evil/cat/0.png" has a ".." element`, `a data set's entries must be relative paths without ".."`}},
		{"tar .. inside the path", "folder", targz(reg("train/cat/0.png", img), reg("train/../../cat/1.png", img)),
			FolderOptions{}, []string{`entry "train/../../cat/1.png"`, `a ".." element`}},
		{"tar .. that stays inside", "folder", targz(reg("train/x/../cat/0.png", img)),
			FolderOptions{}, []string{`entry "train/x/../cat/0.png"`, `a ".." element`}},
		{"tar ../ folder", "folder", targz(reg("cat/0.png", img), tarEntry{name: "../", typ: tar.TypeDir}),
			FolderOptions{}, []string{`entry "../"`, `a ".." element`}},
		{"tar .. with backslashes", "folder", targz(reg(`cat\..\..\0.png`, img)),
			FolderOptions{}, []string{`entry "cat\\..\\..\\0.png"`, `a ".." element`}},
		{"tar absolute entry", "folder", targz(reg("/tmp/cat/0.png", img)),
			FolderOptions{}, []string{`entry "/tmp/cat/0.png"`, "is an absolute path"}},
		{"tar Windows drive", "folder", targz(reg(`C:\data\cat\0.png`, img)),
			FolderOptions{}, []string{`entry "C:\\data\\cat\\0.png"`, "is a path on a Windows drive"}},
		{"tar entry claiming 60 MB, holding 10 bytes", "folder", targz(reg("cat/0.png", img), tarEntry{name: "cat/1.png", typ: tar.TypeReg, size: 60 << 20, data: img[:10]}),
			FolderOptions{}, []string{"cat/1.png", "unexpected EOF"}},
		{"tar entry claiming 100 MB", "folder", targz(tarEntry{name: "cat/0.png", typ: tar.TypeReg, size: 100 << 20}),
			FolderOptions{}, []string{"cat/0.png", "104857600 bytes is too big for an image"}},
		{"tar PNG declaring 100000×100000", "folder", targz(reg("cat/0.png", testimage.DeclaredPNG(100000, 100000))),
			FolderOptions{}, []string{"cat/0.png", huge}},
		{"tar zero-byte image", "folder", targz(reg("cat/0.png", nil)),
			FolderOptions{}, []string{"cat/0.png", "unknown format"}},
		{"not gzip", "folder", file("set.tar.gz", []byte("plain text, not gzip")),
			FolderOptions{}, []string{"gzip: invalid header"}},
		{"gzip, not tar", "folder", func(t *testing.T, dir string) string {
			var b bytes.Buffer
			gz := gzip.NewWriter(&b)
			gz.Write(bytes.Repeat([]byte("not a tar "), 100))
			gz.Close()
			return file("set.tar.gz", b.Bytes())(t, dir)
		}, FolderOptions{}, []string{"archive/tar: invalid tar header"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := c.write(t, dir)
			before := listing(t, dir)
			var d *Dataset
			var err error
			used := allocated(func() {
				switch c.kind {
				case "folder":
					d, err = LoadFolder(p, c.opt)
				case "cifar10-test", "cifar100-test":
					d, err = LoadTest(strings.TrimSuffix(c.kind, "-test") + ":" + p)
				}
			})
			t.Log(err)
			wantDataError(t, err, append(c.want, p)...)
			if d != nil {
				t.Errorf("a data set of %d images with the error", d.Len())
			}
			if after := listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("loading wrote to its folder:\nbefore %q\nafter  %q", before, after)
			}
			// Loading decodes at most a few small images and reads at most
			// the input: a header's word is never taken for an allocation.
			if used > 32<<20 {
				t.Errorf("allocated %d MiB for an input of a few KiB", used>>20)
			}
		})
	}
}

// TestLoadFolderDeepColor locks what a folder loader does with the image
// kinds that are neither 8-bit RGB nor gray: 16-bit PNGs keep the high byte
// of each sample, Adobe CMYK JPEGs are converted to RGB as image/color
// does, and alpha is dropped, in a directory and in a tar alike.
func TestLoadFolderDeepColor(t *testing.T) {
	deep := image.NewRGBA64(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		deep.SetRGBA64(i%8, i/8, color.RGBA64{uint16(i) * 1000, 0xabcd, 0x1234, 0xffff})
	}
	var wantDeep []float32
	for _, plane := range []func(i int) uint16{
		func(i int) uint16 { return uint16(i) * 1000 }, func(int) uint16 { return 0xabcd }, func(int) uint16 { return 0x1234 },
	} {
		for i := range 64 {
			wantDeep = append(wantDeep, float32(plane(i)>>8))
		}
	}
	layout := tree{"deep/0.png": encodePNG(t, deep), "print/0.jpg": testimage.CMYKJPEG(t, 8, 8, [3]uint8{200, 100, 30})}
	for _, path := range []string{layout.writeDir(t), writeTar(t, layout.tarGz(t, ""))} {
		d, err := LoadFolder(path, FolderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 2 || d.H != 8 || d.W != 8 || !slices.Equal(d.Classes, []string{"deep", "print"}) {
			t.Fatalf("%s: %d images of %d×%d, classes %v", path, d.Len(), d.H, d.W, d.Classes)
		}
		if got := d.Image(0); !slices.Equal(got, wantDeep) {
			t.Errorf("%s: 16-bit PNG read as %v, want the high bytes %v", path, got, wantDeep)
		}
		for ch, want := range []float32{200, 100, 30} {
			for _, v := range d.Image(1)[ch*64 : (ch+1)*64] {
				if v < want-2 || v > want+2 {
					t.Fatalf("%s: CMYK JPEG channel %d holds %v, want %v ± 2", path, ch, v, want)
				}
			}
		}
	}
}
