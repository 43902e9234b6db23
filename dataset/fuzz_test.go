package dataset

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/internal/testimage"
)

// FuzzLoadCIFAR reads its input as the test file of CIFAR-10 and of
// CIFAR-100. The CIFAR format is simple enough to state the whole answer:
// an empty file, a length that is not a whole number of records or a label
// out of range is an ErrData error naming the file, and anything else is
// the records themselves, label for label and byte for byte.
func FuzzLoadCIFAR(f *testing.F) {
	rec := func(labels ...byte) []byte {
		b := slices.Clone(labels)
		for j := range cifarPixels {
			b = append(b, byte(j*7+int(labels[0])))
		}
		return b
	}
	f.Add([]byte{})
	f.Add(rec(3))                               // one CIFAR-10 record
	f.Add(slices.Concat(rec(9), rec(0)))        // two
	f.Add(rec(10))                              // label out of range for CIFAR-10
	f.Add(rec(4, 99))                           // one CIFAR-100 record
	f.Add(rec(4, 100))                          // fine label out of range
	f.Add(slices.Concat(rec(1), rec(2))[:5000]) // truncated
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		for _, cf := range []cifarFormat{cifar10, cifar100} {
			p := filepath.Join(dir, cf.test[0])
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := LoadTest(cf.name + ":" + dir)

			size := cf.labelBytes + cifarPixels
			n := len(b) / size
			valid := len(b) > 0 && len(b)%size == 0
			for i := 0; valid && i < n; i++ {
				valid = int(b[i*size+cf.labelOffset]) < len(cf.classes)
			}
			if !valid {
				if err == nil || d != nil || !errors.Is(err, ErrData) || !strings.Contains(err.Error(), p) {
					t.Fatalf("%s: %d bytes: got %v, %v; want an ErrData error naming %s", cf.name, len(b), d, err, p)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %d valid records: %v", cf.name, n, err)
			}
			if d.Len() != n || d.C != 3 || d.H != 32 || d.W != 32 || len(d.Images) != n*cifarPixels || !slices.Equal(d.Classes, cf.classes) {
				t.Fatalf("%s: %d records read as %d images of %d×%d×%d (%d values), %d classes",
					cf.name, n, d.Len(), d.C, d.H, d.W, len(d.Images), len(d.Classes))
			}
			for i := range n {
				r := b[i*size : (i+1)*size]
				if d.Labels[i] != int(r[cf.labelOffset]) {
					t.Fatalf("%s: record %d: label %d, file says %d", cf.name, i, d.Labels[i], r[cf.labelOffset])
				}
				for j, v := range d.Image(i) {
					if v != float32(r[cf.labelBytes+j]) {
						t.Fatalf("%s: record %d pixel %d: %v, file says %d", cf.name, i, j, v, r[cf.labelBytes+j])
					}
				}
			}
		}
	})
}

// The folder fuzzers read their input as a list of entries, so that a
// mutation changes a name, a type or a file's bytes instead of breaking a
// tar checksum. Each entry is
//
//	kind byte | name length byte | name | data length uint16 LE | data
//
// and a short last entry is cut where the input ends. For the kinds, see
// entryTypes.
type fuzzEntry struct {
	kind byte // tar type flag
	name string
	data []byte
}

// entryTypes are the tar types an entry's kind byte selects (kind mod 8).
var entryTypes = []byte{tar.TypeReg, tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeFifo, tar.TypeXGlobalHeader}

func parseEntries(b []byte) []fuzzEntry {
	var out []fuzzEntry
	for len(b) >= 2 {
		e := fuzzEntry{kind: entryTypes[b[0]%8]}
		n := min(int(b[1]), len(b)-2)
		e.name, b = string(b[2:2+n]), b[2+n:]
		if len(b) >= 2 {
			n = min(int(binary.LittleEndian.Uint16(b)), len(b)-2)
			e.data, b = b[2:2+n], b[2+n:]
		} else {
			b = nil
		}
		out = append(out, e)
	}
	return out
}

// entries is the inverse of parseEntries, for seeds: name ending in "/" is
// a folder, "->" in it a symbolic link.
func entries(files ...any) []byte {
	var b []byte
	for i := 0; i < len(files); i += 2 {
		name, data := files[i].(string), files[i+1].([]byte)
		kind := byte(0)
		if strings.HasSuffix(name, "/") {
			kind = 1
		} else if strings.Contains(name, "->") {
			kind = 3
		}
		b = append(b, kind, byte(len(name)))
		b = append(b, name...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
		b = append(b, data...)
	}
	return b
}

// entriesTarGz writes entries as a gzip tar and returns it with the number
// of entries written: the tar writer refuses some names and types.
func entriesTarGz(es []fuzzEntry) ([]byte, int) {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	w := tar.NewWriter(gz)
	n := 0
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.kind, Mode: 0o644, Size: int64(len(e.data))}
		switch e.kind {
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname, h.Size = string(e.data), 0
		default:
			h.Size = 0
		}
		if w.WriteHeader(h) == nil {
			n++
			if h.Size > 0 {
				w.Write(e.data)
			}
		}
	}
	w.Close()
	gz.Close()
	return b.Bytes(), n
}

// tarImages is how many images LoadFolder must load from a gzip tar, by
// reading it with archive/tar: the regular files not hidden. It is -1
// where LoadFolder must refuse the tar: archive/tar fails on it, or an
// entry's name is absolute or has a ".." element, or an entry not hidden
// is neither a regular file nor a folder.
func tarImages(arc []byte) int {
	zr, err := gzip.NewReader(bytes.NewReader(arc))
	if err != nil {
		return -1
	}
	r := tar.NewReader(zr)
	n := 0
	for {
		h, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil || escapes(h.Name) != "" {
			return -1
		}
		if hiddenPath(path.Clean(h.Name)) {
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg:
			n++
		case tar.TypeDir:
		default:
			return -1
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return -1
		}
	}
}

func writeFuzzFile(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// folderSeeds are entry lists of small valid and nearly valid data sets.
func folderSeeds(f *testing.F) [][]byte {
	png2 := encodePNG(f, patternRGBA(2, 2, 0))
	png3 := encodePNG(f, patternRGBA(3, 2, 9))
	gray := encodePNG(f, image.NewGray(image.Rect(0, 0, 2, 2)))
	deep := encodePNG(f, image.NewRGBA64(image.Rect(0, 0, 2, 2)))
	pal := encodePNG(f, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.White, color.Black}))
	jpg := encodeJPEG(f, patternRGBA(2, 2, 50))
	return [][]byte{
		entries("cat/0.png", png2, "cat/1.png", gray, "dog/0.png", pal),
		entries("train/", []byte{}, "train/a/0.jpg", jpg, "train/b/0.png", deep, "train/.DS_Store", []byte("x")),
		entries("a/0.png", png2, "a/1.png", png3),                      // sizes differ
		entries("a/0.png", png2, "b/", []byte{}),                       // empty class
		entries("a/0.png", png2, "a/x/0.png", png2),                    // nested folder
		entries("a/0.png", png2, "a/0.png", png2),                      // twice
		entries("a/0.png", png2, "README", []byte("hi")),               // file outside the classes
		entries("a/0.png", png2, "a/1.png->../0.png", []byte("0.png")), // link
		entries("../a/0.png", png2, "/b/0.png", png2),                  // escaping
		entries("a/0.png", testimage.DeclaredPNG(100000, 100000)),
		entries("a/0.png", []byte{}),
	}
}

// checkFolderResult checks what LoadFolder returned for source: either an
// error and no data set, the error naming source when it is about the data,
// or a well-formed data set: sorted distinct class names, each with at
// least one image, labels in range and in class order, C×H×W values of
// whole levels in [0, 255] per image, at most MaxImagePixels per image, and
// Resize×Resize images when resize > 0.
func checkFolderResult(t *testing.T, source string, resize int, d *Dataset, err error) {
	t.Helper()
	if err != nil {
		if d != nil {
			t.Fatalf("a data set with the error %v", err)
		}
		if !strings.HasPrefix(err.Error(), "dataset: ") {
			t.Fatalf("error %q does not start with dataset:", err)
		}
		if errors.Is(err, ErrData) && !strings.Contains(err.Error(), source) {
			t.Fatalf("error %q does not name %s", err, source)
		}
		return
	}
	if len(d.Classes) == 0 || !slices.IsSorted(d.Classes) || len(slices.Compact(slices.Clone(d.Classes))) != len(d.Classes) {
		t.Fatalf("classes %q: want some, sorted and distinct", d.Classes)
	}
	for _, c := range d.Classes {
		if c == "" || hidden(c) || strings.ContainsAny(c, "/") {
			t.Fatalf("class name %q", c)
		}
	}
	if d.C != 3 || d.H < 1 || d.W < 1 || d.W > MaxImagePixels/d.H || resize > 0 && (d.H != resize || d.W != resize) {
		t.Fatalf("images of %d×%d×%d (resize %d)", d.C, d.H, d.W, resize)
	}
	if len(d.Labels) < len(d.Classes) || len(d.Images) != len(d.Labels)*d.C*d.H*d.W {
		t.Fatalf("%d labels, %d classes, %d values for images of %d×%d×%d", len(d.Labels), len(d.Classes), len(d.Images), d.C, d.H, d.W)
	}
	seen := make([]bool, len(d.Classes))
	for i, l := range d.Labels {
		if l < 0 || l >= len(d.Classes) || i > 0 && l < d.Labels[i-1] {
			t.Fatalf("labels %v: out of range or out of class order", d.Labels)
		}
		seen[l] = true
	}
	if i := slices.Index(seen, false); i >= 0 {
		t.Fatalf("class %q has no image", d.Classes[i])
	}
	for i, v := range d.Images {
		if v < 0 || v > 255 || v != float32(int(v)) {
			t.Fatalf("value %d is %v, want a level in [0, 255]", i, v)
		}
	}
}

// FuzzLoadFolder writes the input's entries (regular files and folders
// whose names are local paths) into a directory and loads it, then loads a
// gzip tar of the same entries: each must be an error or a well-formed data
// set (checkFolderResult), and where both load they must agree.
func FuzzLoadFolder(f *testing.F) {
	for _, s := range folderSeeds(f) {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, resize uint8) {
		opt := FolderOptions{Resize: int(resize % 5), Workers: 1}
		dir := t.TempDir()
		var written []fuzzEntry
		for _, e := range parseEntries(b) {
			e.name = path.Clean(e.name)
			if e.kind != tar.TypeReg && e.kind != tar.TypeDir || !filepath.IsLocal(e.name) || strings.ContainsRune(e.name, 0) {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(e.name))
			var err error
			if e.kind == tar.TypeDir {
				err = os.MkdirAll(p, 0o755)
			} else if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, e.data, 0o644)
			}
			if err == nil {
				written = append(written, e)
			}
		}
		d, err := LoadFolder(dir, opt)
		checkFolderResult(t, dir, opt.Resize, d, err)

		arc, n := entriesTarGz(written)
		if n < len(written) {
			return // the tar is not the folder
		}
		tarPath := writeFuzzFile(t, "set.tar.gz", arc)
		dt, errt := LoadFolder(tarPath, opt)
		checkFolderResult(t, tarPath, opt.Resize, dt, errt)
		if err == nil && errt == nil {
			if !slices.Equal(d.Classes, dt.Classes) || !slices.Equal(d.Labels, dt.Labels) || d.H != dt.H || d.W != dt.W || !slices.Equal(d.Images, dt.Images) {
				t.Fatalf("the folder and the tar of it differ: classes %q and %q, labels %v and %v, %d×%d and %d×%d",
					d.Classes, dt.Classes, d.Labels, dt.Labels, d.H, d.W, dt.H, dt.W)
			}
		}
	})
}

// FuzzLoadFolderTar loads the input's entries, of any type and name, as a
// gzip tar, and the input itself gzipped, as a raw tar stream. Each must be
// an error or a well-formed data set (checkFolderResult) holding one image
// per regular file not hidden; a tar with an entry that is absolute, has a
// ".." element or is neither a file nor a folder must be refused
// (tarImages).
func FuzzLoadFolderTar(f *testing.F) {
	for _, s := range folderSeeds(f) {
		f.Add(s, uint8(0))
	}
	img := encodePNG(f, patternRGBA(2, 2, 0))
	f.Add(tree{"cat/0.png": img, "dog/0.png": img}.tar(f, "train/"), uint8(0))
	f.Add(tree{"cat/0.png": img, "dog/0.png": img}.tar(f, ""), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, resize uint8) {
		opt := FolderOptions{Resize: int(resize % 5), Workers: 1}
		structured, _ := entriesTarGz(parseEntries(b))
		var raw bytes.Buffer
		gz := gzip.NewWriter(&raw)
		gz.Write(b)
		gz.Close()
		for name, arc := range map[string][]byte{"set.tar.gz": structured, "raw.tar.gz": raw.Bytes()} {
			p := writeFuzzFile(t, name, arc)
			d, err := LoadFolder(p, opt)
			checkFolderResult(t, p, opt.Resize, d, err)
			switch n := tarImages(arc); {
			case n < 0 && err == nil:
				t.Fatalf("%s: loaded %d images from a tar LoadFolder must refuse", name, d.Len())
			case err == nil && d.Len() != n:
				t.Fatalf("%s: loaded %d images from a tar of %d", name, d.Len(), n)
			}
		}
	})
}

// tar writes the tree as an uncompressed tar under root, in name order.
func (tr tree) tar(t testing.TB, root string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, n := range slices.Sorted(maps.Keys(tr)) {
		if err := w.WriteHeader(&tar.Header{Name: root + n, Mode: 0o644, Size: int64(len(tr[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write(tr[n])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
