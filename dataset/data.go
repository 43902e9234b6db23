package dataset

import (
	"errors"
	"fmt"
	"strings"
)

// ErrData is wrapped by every error about a malformed data set: a truncated
// CIFAR file, a label out of range, an image that does not decode, declares
// more than 8192×8192 pixels or has the wrong size, an empty class folder, a
// tar entry that is a link or whose name leads outside the archive. The
// message names the file.
var ErrData = errors.New("dataset: invalid data")

// Dataset is a labelled image set held in memory. Images are float32 pixel
// values in [0, 255], channel-major (C×H×W), one after another.
type Dataset struct {
	Classes []string  // class names; label i is Classes[i]
	C, H, W int       // image shape
	Images  []float32 // Len()·C·H·W values
	Labels  []int     // one per image, in [0, len(Classes))
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// Image returns image i (C·H·W values), aliasing d.Images.
func (d *Dataset) Image(i int) []float32 {
	n := d.C * d.H * d.W
	return d.Images[i*n : (i+1)*n : (i+1)*n]
}

// Load reads a training set. spec is one of
//
//	cifar10:DIR      data_batch_1.bin … data_batch_5.bin of the CIFAR-10 binary release
//	cifar100:DIR     train.bin of the CIFAR-100 binary release (fine labels)
//	folder:DIR       one sub-folder per class holding PNG or JPEG files
//	folder:FILE.tar.gz  a gzip tar of the same layout, read as a stream
//
// Folder data sets have one image size (that of the first image) and their
// class names are the sub-folder names, sorted; see LoadFolder for the rules
// and for options. Load reads them as they are; a training run with
// trainer.Config.Resize reads them with FolderOptions.Resize.
func Load(spec string) (*Dataset, error) { return load(spec, false) }

// LoadTest reads the test set belonging to spec: test_batch.bin for cifar10,
// test.bin for cifar100. A folder spec has no separate test split, so the
// folder given is read as the test set.
func LoadTest(spec string) (*Dataset, error) { return load(spec, true) }

func load(spec string, test bool) (*Dataset, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if !ok || path == "" {
		return nil, fmt.Errorf("dataset: data spec %q: want cifar10:DIR, cifar100:DIR or folder:PATH", spec)
	}
	switch kind {
	case "cifar10":
		return loadCIFAR(cifar10, path, test)
	case "cifar100":
		return loadCIFAR(cifar100, path, test)
	case "folder":
		return LoadFolder(path, FolderOptions{})
	}
	return nil, fmt.Errorf("dataset: data spec %q: unknown kind %q (want cifar10, cifar100 or folder)", spec, kind)
}

// Split holds out the last perClass images of each class, in data set
// order, as a validation set; train keeps the rest, in order. A class with
// at most perClass images goes to val whole. Both are copies.
func (d *Dataset) Split(perClass int) (train, val *Dataset) {
	count := d.classCounts()
	var ti, vi []int
	seen := make([]int, len(d.Classes))
	for i, l := range d.Labels {
		if seen[l] >= count[l]-perClass {
			vi = append(vi, i)
		} else {
			ti = append(ti, i)
		}
		seen[l]++
	}
	return d.take(ti), d.take(vi)
}

// Subset returns a copy with the first perClass images of each class, in
// data set order (all of a class that has fewer).
func (d *Dataset) Subset(perClass int) *Dataset {
	var idx []int
	seen := make([]int, len(d.Classes))
	for i, l := range d.Labels {
		if seen[l] < perClass {
			idx = append(idx, i)
		}
		seen[l]++
	}
	return d.take(idx)
}

func (d *Dataset) classCounts() []int {
	n := make([]int, len(d.Classes))
	for _, l := range d.Labels {
		n[l]++
	}
	return n
}

// take copies the images idx into a new data set with the same classes.
func (d *Dataset) take(idx []int) *Dataset {
	n := d.C * d.H * d.W
	out := &Dataset{
		Classes: append([]string(nil), d.Classes...),
		C:       d.C, H: d.H, W: d.W,
		Images: make([]float32, len(idx)*n),
		Labels: make([]int, len(idx)),
	}
	for j, i := range idx {
		copy(out.Images[j*n:(j+1)*n], d.Image(i))
		out.Labels[j] = d.Labels[i]
	}
	return out
}
