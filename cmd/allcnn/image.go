package main

// What predict, eval and viz share: the model file, images read from disk
// or from a data set and brought to the model's input, the softmax, and a
// few flag values.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the decoders image.Decode uses
	_ "image/png"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	"github.com/allcnn/allcnn/trainer"
)

// model is a weight file with its net built.
type model struct {
	file *format.File
	net  *kernel.Net
}

func openModel(path string) (*model, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: -model FILE is required", errUsage)
	}
	f, err := format.ReadFile(path) // its errors name the file
	if err != nil {
		return nil, err
	}
	n, err := f.Net()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &model{file: f, net: n}, nil
}

// input is the model's input shape: channels, height, width.
func (m *model) input() [3]int { return m.file.Arch.Input }

// probs runs x through the net in evaluation mode and returns the softmax
// of the outputs, one row of m.net.Classes() per example.
func (m *model) probs(x *kernel.Tensor) ([]float32, error) {
	out, err := m.net.Forward(x, false)
	if err != nil {
		return nil, err
	}
	p := make([]float32, len(out.Data))
	kernel.Softmax(out.Data, m.net.Classes(), p)
	return p, nil
}

// netInput preprocesses all images of b as the model was trained
// (trainer.ApplyBatch with the file's parameters) into one batch.
func (m *model) netInput(b *trainer.Dataset) *kernel.Tensor {
	x := kernel.NewTensor(b.Len(), b.C, b.H, b.W)
	trainer.ApplyBatch(&m.file.Preprocess, b, seq(b.Len()), x.Data)
	return x
}

// maxImagePixels bounds a decoded image (8192×8192), so that a hostile
// header cannot make us allocate gigabytes.
const maxImagePixels = 1 << 26

// readImage decodes a PNG or JPEG file and resamples it to in (channels,
// height, width) with preprocess.FromRGBA: a centred crop to the input's
// aspect ratio, then area averaging or bilinear interpolation. Alpha is
// dropped, as the trainer's folder loader drops it. The result is pixel
// values in [0, 255], channel-major. Errors name the file.
func readImage(path string, in [3]int) ([]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError: "open PATH: …"
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG or JPEG image: %v", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImagePixels/cfg.Height {
		return nil, fmt.Errorf("%s: a %d×%d image is empty or over %d pixels", path, cfg.Width, cfg.Height, maxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG or JPEG image: %v", path, err)
	}
	b := img.Bounds()
	rgba := make([]byte, 0, 4*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			rgba = append(rgba, c.R, c.G, c.B, 255)
		}
	}
	px, err := preprocess.FromRGBA(rgba, b.Dx(), b.Dy(), in[0], in[1], in[2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return px, nil
}

// readImages reads image files into a data set at the model's input size
// (labels all 0), failing on the first file that does not read.
func readImages(paths []string, in [3]int) (*trainer.Dataset, error) {
	d := &trainer.Dataset{Classes: []string{""}, C: in[0], H: in[1], W: in[2], Labels: make([]int, len(paths))}
	for _, p := range paths {
		px, err := readImage(p, in)
		if err != nil {
			return nil, err
		}
		d.Images = append(d.Images, px...)
	}
	return d, nil
}

// batchAt copies images idx of d into a data set of their own at the model's
// input size. Images of another size or channel count are resampled with
// preprocess.FromRGBA, exactly as predict reads a file, so that eval and
// predict agree on an image.
func batchAt(d *trainer.Dataset, idx []int, in [3]int) (*trainer.Dataset, error) {
	b := &trainer.Dataset{Classes: d.Classes, C: in[0], H: in[1], W: in[2], Labels: make([]int, len(idx))}
	same := d.C == in[0] && d.H == in[1] && d.W == in[2]
	var rgba []byte
	if !same {
		rgba = make([]byte, 4*d.H*d.W)
	}
	for k, i := range idx {
		b.Labels[k] = d.Labels[i]
		if same {
			b.Images = append(b.Images, d.Image(i)...)
			continue
		}
		img, hw := d.Image(i), d.H*d.W
		for p := range hw {
			for ch := range 3 {
				rgba[4*p+ch] = uint8(img[min(ch, d.C-1)*hw+p]) // loaders give whole levels
			}
			rgba[4*p+3] = 255
		}
		px, err := preprocess.FromRGBA(rgba, d.W, d.H, in[0], in[1], in[2])
		if err != nil {
			return nil, err
		}
		b.Images = append(b.Images, px...)
	}
	return b, nil
}

// loadData reads a data set spec (trainer.Load): split "test" is the test
// set of cifar10:DIR and cifar100:DIR (trainer.LoadTest), "train" the
// training set; a folder has no splits and is read whole either way.
func loadData(spec, split string) (*trainer.Dataset, error) {
	switch split {
	case "test":
		return trainer.LoadTest(spec)
	case "train":
		return trainer.Load(spec)
	}
	return nil, fmt.Errorf("%w: -split %q (want test or train)", errUsage, split)
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
