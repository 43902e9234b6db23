package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wantDataError fails unless err wraps ErrData and its message holds every
// one of want (a file name, a record index).
func wantDataError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %q", want)
	}
	if !errors.Is(err, ErrData) {
		t.Errorf("error %q does not wrap ErrData", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
}

// cifarPixel is the value the synthetic CIFAR files hold at pixel j of the
// i-th image of a file.
func cifarPixel(i, j int) byte { return byte(i*7 + j*3) }

// writeCIFAR writes records with the given labels (each repeated labelBytes
// times, so CIFAR-100's coarse and fine labels agree) and returns the path.
func writeCIFAR(t *testing.T, dir, name string, labelBytes int, labels []int) string {
	t.Helper()
	var b []byte
	for i, l := range labels {
		for range labelBytes {
			b = append(b, byte(l))
		}
		for j := 0; j < cifarPixels; j++ {
			b = append(b, cifarPixel(i, j))
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCIFAR(t *testing.T) {
	dir10, dir100 := t.TempDir(), t.TempDir()
	var want10 []int
	for k, name := range cifar10.train {
		labels := []int{k, 9 - k, 3}
		writeCIFAR(t, dir10, name, 1, labels)
		want10 = append(want10, labels...)
	}
	writeCIFAR(t, dir10, "test_batch.bin", 1, []int{0, 1})
	writeCIFAR(t, dir100, "train.bin", 2, []int{99, 0, 42, 7})
	writeCIFAR(t, dir100, "test.bin", 2, []int{5})

	for _, c := range []struct {
		spec    string
		test    bool
		classes int
		labels  []int
		perFile int // records per file, for the pixel pattern
	}{
		{"cifar10:" + dir10, false, 10, want10, 3},
		{"cifar10:" + dir10, true, 10, []int{0, 1}, 2},
		{"cifar100:" + dir100, false, 100, []int{99, 0, 42, 7}, 4},
		{"cifar100:" + dir100, true, 100, []int{5}, 1},
	} {
		load := Load
		if c.test {
			load = LoadTest
		}
		d, err := load(c.spec)
		if err != nil {
			t.Fatalf("%s test=%v: %v", c.spec, c.test, err)
		}
		if len(d.Classes) != c.classes || d.C != 3 || d.H != 32 || d.W != 32 || !slices.Equal(d.Labels, c.labels) {
			t.Fatalf("%s test=%v: %d classes %d×%d×%d labels %v, want %d classes, labels %v",
				c.spec, c.test, len(d.Classes), d.C, d.H, d.W, d.Labels, c.classes, c.labels)
		}
		if len(d.Images) != d.Len()*cifarPixels {
			t.Fatalf("%s: %d pixel values for %d images", c.spec, len(d.Images), d.Len())
		}
		for i := 0; i < d.Len(); i++ {
			img := d.Image(i)
			for _, j := range []int{0, 1, 1023, 1024, 3071} {
				if want := float32(cifarPixel(i%c.perFile, j)); img[j] != want {
					t.Fatalf("%s: image %d pixel %d = %v, want %v", c.spec, i, j, img[j], want)
				}
			}
		}
	}
	if d, _ := Load("cifar10:" + dir10); d.Classes[0] != "airplane" || d.Classes[9] != "truck" {
		t.Errorf("CIFAR-10 classes %v", d.Classes)
	}
}

func TestLoadCIFARErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(dir string) // writes the files, one of them bad
		spec  string
		want  []string
	}{
		{"truncated", func(dir string) {
			p := writeCIFAR(t, dir, "train.bin", 2, []int{1, 2, 3})
			os.Truncate(p, int64(3*(2+cifarPixels)-10))
		}, "cifar100:", []string{"train.bin", "record 2", "truncated"}},
		{"label out of range", func(dir string) {
			writeCIFAR(t, dir, "train.bin", 2, []int{1, 100, 3})
		}, "cifar100:", []string{"train.bin", "record 1", "label 100"}},
		{"cifar10 label 10 in batch 4", func(dir string) {
			for k, name := range cifar10.train {
				labels := []int{1, 2}
				if k == 3 {
					labels = []int{1, 2, 10}
				}
				writeCIFAR(t, dir, name, 1, labels)
			}
		}, "cifar10:", []string{"data_batch_4.bin", "record 2", "label 10"}},
		{"empty", func(dir string) {
			os.WriteFile(filepath.Join(dir, "test_batch.bin"), nil, 0o644)
		}, "cifar10-test:", []string{"test_batch.bin", "empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.write(dir)
			var err error
			if kind, ok := strings.CutSuffix(c.spec, "-test:"); ok {
				_, err = LoadTest(kind + ":" + dir)
			} else {
				_, err = Load(c.spec + dir)
			}
			wantDataError(t, err, append(c.want, dir)...)
		})
	}
	// A missing file is an I/O error, not bad data, but names the file too.
	_, err := Load("cifar10:" + t.TempDir())
	if err == nil || errors.Is(err, ErrData) || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadSpec(t *testing.T) {
	for _, spec := range []string{"", "cifar10", "cifar10:", "imagenet:/x", "/some/dir"} {
		if _, err := Load(spec); err == nil || !strings.Contains(err.Error(), "spec") {
			t.Errorf("Load(%q): %v, want a spec error", spec, err)
		}
	}
}

func TestCIFAR100Classes(t *testing.T) {
	c := cifar100.classes
	if len(c) != 100 || !slices.IsSorted(c) || len(slices.Compact(slices.Clone(c))) != 100 {
		t.Errorf("CIFAR-100 fine label names: %d, sorted %v", len(c), slices.IsSorted(c))
	}
}

// tinyDataset has images of one pixel whose value is the image's index.
func tinyDataset(labels ...int) *Dataset {
	d := &Dataset{Classes: []string{"a", "b", "c"}, C: 1, H: 1, W: 1, Labels: labels}
	for i := range labels {
		d.Images = append(d.Images, float32(i))
	}
	return d
}

func TestSplitSubset(t *testing.T) {
	//              0  1  2  3  4  5  6  7  8
	d := tinyDataset(0, 1, 0, 2, 1, 0, 0, 1, 2)
	indices := func(d *Dataset) []int {
		var idx []int
		for i := 0; i < d.Len(); i++ {
			idx = append(idx, int(d.Image(i)[0]))
			if got, want := d.Labels[i], []int{0, 1, 0, 2, 1, 0, 0, 1, 2}[idx[i]]; got != want {
				panic("label does not follow its image")
			}
		}
		return idx
	}
	for _, c := range []struct {
		perClass         int
		train, val, head []int
	}{
		{0, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, nil, nil},
		{1, []int{0, 1, 2, 3, 4, 5}, []int{6, 7, 8}, []int{0, 1, 3}},
		{2, []int{0, 1, 2}, []int{3, 4, 5, 6, 7, 8}, []int{0, 1, 2, 3, 4, 8}},
		{9, nil, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		tr, va := d.Split(c.perClass)
		if got := indices(tr); !slices.Equal(got, c.train) {
			t.Errorf("Split(%d) train %v, want %v", c.perClass, got, c.train)
		}
		if got := indices(va); !slices.Equal(got, c.val) {
			t.Errorf("Split(%d) val %v, want %v", c.perClass, got, c.val)
		}
		if got := indices(d.Subset(c.perClass)); !slices.Equal(got, c.head) {
			t.Errorf("Subset(%d) %v, want %v", c.perClass, got, c.head)
		}
		if len(tr.Classes) != 3 || len(va.Classes) != 3 {
			t.Errorf("classes lost")
		}
	}
	// Copies: writing to a split leaves the original alone.
	tr, _ := d.Split(1)
	tr.Images[0] = 99
	if d.Images[0] != 0 {
		t.Error("Split aliases the original images")
	}
}
