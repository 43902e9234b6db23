package main

// What predict, eval and viz share: the model file (opened by the root
// package, allcnn, which brings images to the input and classifies them),
// images read from disk or from a data set, and a few flag values.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// openModel opens the weight file of -model (allcnn.Open) and prints the
// model's warnings on stderr: a file older than the input contract (no
// preprocess.place) is read as before, its images resized to the input.
func openModel(path string, stderr io.Writer) (*allcnn.Model, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: -model FILE is required", errUsage)
	}
	m, err := allcnn.Open(path) // its errors name the file
	if err != nil {
		return nil, err
	}
	for _, w := range m.Warnings() {
		fmt.Fprintf(stderr, "allcnn: warning: %s: %s\n", path, w)
	}
	return m, nil
}

// describeInput says in a line how an image becomes the input of f's net.
func describeInput(f *format.File) string {
	p, in := &f.Preprocess, f.Arch.Input
	switch p.Place {
	case preprocess.PlaceCanvas:
		return fmt.Sprintf("canvas: resampled to %d×%d, centred on a %d×%d zero canvas", p.Size[0], p.Size[1], in[1], in[2])
	case preprocess.PlaceCrop:
		return fmt.Sprintf("crop: resampled to %d×%d, its central %d×%d window", p.Size[0], p.Size[1], in[1], in[2])
	case preprocess.PlaceResize:
		return fmt.Sprintf("resize: resampled to %d×%d", in[1], in[2])
	}
	return fmt.Sprintf("resize: resampled to %d×%d (assumed: the file has no preprocess.place)", in[1], in[2])
}

// inputs brings images idx of d to m's input, one batch, through the model
// file's input contract (allcnn.Model.Inputs).
func inputs(m *allcnn.Model, d *dataset.Dataset, idx []int) (*kernel.Tensor, error) {
	return m.Inputs(imagesAt(d, idx), d.C, d.H, d.W)
}

// pixels is images idx of d as m's input shows them, before normalisation
// (allcnn.Model.Pixels), for drawing.
func pixels(m *allcnn.Model, d *dataset.Dataset, idx []int) (*kernel.Tensor, error) {
	return m.Pixels(imagesAt(d, idx), d.C, d.H, d.W)
}

// imagesAt is images idx of d, aliasing d.Images.
func imagesAt(d *dataset.Dataset, idx []int) [][]float32 {
	imgs := make([][]float32, len(idx))
	for k, i := range idx {
		imgs[k] = d.Image(i)
	}
	return imgs
}

// labelsAt is the labels of images idx of d.
func labelsAt(d *dataset.Dataset, idx []int) []int {
	l := make([]int, len(idx))
	for k, i := range idx {
		l[k] = d.Labels[i]
	}
	return l
}

// maxImageBytes bounds an image file, as dataset.LoadFolder does; the
// decoded image is bounded by dataset.MaxImagePixels.
const maxImageBytes = 64 << 20

// readImage decodes a PNG or JPEG file and resamples it to in (channels,
// height, width) with preprocess.FromRGBA: a centred crop to the input's
// aspect ratio, then area averaging or bilinear interpolation. Alpha is
// dropped, as dataset.LoadFolder drops it. The result is pixel
// values in [0, 255], channel-major. Decoding is dataset.DecodeImage, the
// data sets' own. Errors name the file; a file over maxImageBytes or an
// image over dataset.MaxImagePixels is refused before it is decoded.
func readImage(path string, in [3]int) ([]float32, error) {
	data, err := readFileMax(path, maxImageBytes)
	if err != nil {
		return nil, err
	}
	rgba, w, h, err := dataset.DecodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	px, err := preprocess.FromRGBA(rgba, w, h, in[0], in[1], in[2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return px, nil
}

// readFileMax reads a file of at most max bytes. Errors name the file.
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError: "open PATH: …"
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes is too big for an image (at most %d)", path, fi.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1)) // a pipe or device has no size
	if err != nil {
		return nil, err // *PathError: "read PATH: …"
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes is too big for an image", path, max)
	}
	return data, nil
}

// readImages reads image files into a data set at size in (labels all 0;
// allcnn.Model.Source for a model), failing on the first file that does
// not read.
func readImages(paths []string, in [3]int) (*dataset.Dataset, error) {
	d := &dataset.Dataset{Classes: []string{""}, C: in[0], H: in[1], W: in[2], Labels: make([]int, len(paths))}
	for _, p := range paths {
		px, err := readImage(p, in)
		if err != nil {
			return nil, err
		}
		d.Images = append(d.Images, px...)
	}
	return d, nil
}

// loadData reads a data set spec (dataset.Load) for model m: split "test"
// is the test set of cifar10:DIR and cifar100:DIR (dataset.LoadTest),
// "train" the training set; a folder has no splits and is read whole
// either way. A model trained on crops of resized images (the placement
// preprocess.PlaceCrop) reads a folder as its trainer did
// (dataset.FolderOptions.Resize), so that photos of any size load.
func loadData(spec, split string, m *allcnn.Model) (*dataset.Dataset, error) {
	if split != "test" && split != "train" {
		return nil, fmt.Errorf("%w: -split %q (want test or train)", errUsage, split)
	}
	p := &m.File().Preprocess
	if path, ok := strings.CutPrefix(spec, "folder:"); ok && path != "" && p.Place == preprocess.PlaceCrop && p.Size[0] == p.Size[1] {
		return dataset.LoadFolder(path, dataset.FolderOptions{Resize: p.Size[0]})
	}
	if split == "test" {
		return dataset.LoadTest(spec)
	}
	return dataset.Load(spec)
}

// sample returns the indices of limit images spread evenly over n (every
// n/limit-th, so that a class-ordered folder still shows every class), or
// all n when limit is 0 or at least n.
func sample(n, limit int) []int {
	if limit <= 0 || limit >= n {
		return seq(n)
	}
	idx := make([]int, limit)
	for i := range idx {
		idx[i] = i * n / limit
	}
	return idx
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// topK returns the indices of the k largest values of p, largest first
// (the lower index first on ties).
func topK(p []float32, k int) []int {
	idx := seq(len(p))
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	return idx[:min(k, len(idx))]
}

// classIndex reads a class given by name or by index.
func classIndex(classes []string, s string) (int, error) {
	for i, c := range classes {
		if c == s {
			return i, nil
		}
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(classes) {
		return i, nil
	}
	return 0, fmt.Errorf("%w: class %q is neither a name nor an index of the model's %d classes (%s)", errUsage, s, len(classes), strings.Join(classes, ", "))
}

// parseUnits reads a list of channels such as "0-15" or "0,3,8-11".
func parseUnits(s string) ([]int, error) {
	var units []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a >= kernel.MaxChannels {
			return nil, fmt.Errorf("%w: -units %q: want channels like 0-15 or 0,3,8-11", errUsage, s)
		}
		for u := a; u <= b; u++ {
			units = append(units, u)
		}
	}
	return units, nil
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (allcnn predict -model M a.png b.png -top 3) and
// returns the positional ones. After "--" everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// writeJSON prints v indented, as the other commands do.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progress reports a long run on stderr, at most every few seconds, so a
// short run stays quiet.
type progress struct {
	w           io.Writer
	what        string
	total       int
	start, last time.Time
}

const progressEvery = 5 * time.Second

func newProgress(w io.Writer, what string, total int) *progress {
	now := time.Now()
	return &progress{w: w, what: what, total: total, start: now, last: now}
}

// update says that done of total images are through; note is appended.
func (p *progress) update(done int, note string) {
	now := time.Now()
	if now.Sub(p.last) < progressEvery && (done < p.total || now.Sub(p.start) < progressEvery) {
		return
	}
	p.last = now
	rate := float64(done) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "%s: %d/%d images, %.0f images/s%s\n", p.what, done, p.total, rate, note)
}
