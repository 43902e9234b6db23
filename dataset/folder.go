package dataset

import (
	"fmt"
	_ "image/jpeg" // register the decoders image.Decode uses
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/allcnn/allcnn/kernel/preprocess"
)

// FolderOptions adjust LoadFolder.
type FolderOptions struct {
	// W, H, when non-zero, are the size every image must have. Otherwise the
	// first image (in class order, then file-name order) decides.
	W, H int
	// Resize, when positive, scales each image so that its shorter side is
	// Resize pixels and keeps the central Resize×Resize square (both at
	// once, with preprocess.FromRGBA), before the size check: the
	// ImageNet-style path (NOTES.md §4), followed by trainer.RandomCrop or
	// trainer.CenterCrop to the network's input size.
	Resize int
	// Workers is the number of decoding goroutines; 0 means GOMAXPROCS.
	Workers int
}

func (o FolderOptions) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// maxImageBytes bounds one encoded image, so a corrupt tar header cannot
// make us allocate gigabytes.
const maxImageBytes = 64 << 20

// LoadFolder reads a labelled image set laid out as one sub-folder per class
// (CLASS/NAME.png, CLASS/NAME.jpg), from a directory or, when path names a
// file, from a gzip-compressed tar of that layout read as a stream (nothing
// is unpacked to disk). In a tar the class folders may sit under a common
// root, as in train/airplane/0000.jpg.
//
// Class names are the folder names, sorted; labels follow that order.
// Images are ordered by class, then by file name (byte order, so number
// files with leading zeros). Files and folders whose name starts with "."
// are ignored. Images are decoded by content (PNG or JPEG), converted to
// 8-bit RGB (gray is replicated, alpha is dropped, 16-bit samples keep their
// high byte, CMYK is converted as image/color does), and must all have one
// size. Any other file, an empty class folder, a file outside a class
// folder or a nested folder is an error wrapping ErrData that names it. So
// is, in a tar, an entry that is neither a regular file nor a folder (a
// link, a device) or whose name is absolute or has a ".." element, and in
// either an image declaring more than 8192×8192 pixels (checked before it
// is decoded).
func LoadFolder(path string, opt FolderOptions) (*Dataset, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	dec := newDecoder(opt)
	var classes map[string]string
	if fi.IsDir() {
		classes, err = walkFolder(path, dec)
	} else {
		classes, err = streamTar(path, dec)
	}
	files := dec.wait()
	if err != nil {
		return nil, err
	}
	return assemble(path, files, classes, opt)
}

// imageFile is one image on its way from the file to the data set.
type imageFile struct {
	path  string // for messages: a file path, or "ARCHIVE: ENTRY"
	class string
	name  string // file name, the order within the class
	data  []byte // encoded image; nil: read path from disk
	w, h  int
	pix   []uint8 // decoded, 3×h×w
	err   error
}

// decoder decodes images on a few goroutines while the caller keeps reading.
type decoder struct {
	jobs  chan *imageFile
	wg    sync.WaitGroup
	files []*imageFile
}

func newDecoder(opt FolderOptions) *decoder {
	n := opt.workers()
	d := &decoder{jobs: make(chan *imageFile, 4*n)}
	d.wg.Add(n)
	for range n {
		go func() {
			defer d.wg.Done()
			for f := range d.jobs {
				f.decode(opt.Resize)
			}
		}()
	}
	return d
}

func (d *decoder) add(f *imageFile) {
	d.files = append(d.files, f)
	d.jobs <- f
}

// wait returns every file added, once all are decoded.
func (d *decoder) wait() []*imageFile {
	close(d.jobs)
	d.wg.Wait()
	return d.files
}

func (f *imageFile) decode(resize int) {
	data := f.data
	f.data = nil
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.path); err != nil {
			f.err = fmt.Errorf("dataset: %w", err)
			return
		}
	}
	if resize > 0 && resize > MaxImagePixels/resize {
		f.err = fmt.Errorf("%w: %s: resize %d: a %d×%d image is over %d pixels", ErrData, f.path, resize, resize, resize, MaxImagePixels)
		return
	}
	rgba, w, h, err := DecodeImage(data)
	if err != nil {
		f.err = fmt.Errorf("%w: %s: %w", ErrData, f.path, err)
		return
	}
	f.w, f.h, f.pix = planar(rgba, w, h)
	if resize > 0 {
		f.w, f.h, f.pix = resizeSquare(f.w, f.h, f.pix, resize)
	}
}

// resizeSquare resamples RGB planes of w×h to the central square with side
// s, its shorter side scaled to s, with preprocess.FromRGBA: the resampling
// of the model file's input contract (preprocess.PlaceCrop), so that the
// images a run trains on are those that eval, predict and the browser
// compute from the same files. Values are rounded to whole levels.
func resizeSquare(w, h int, pix []uint8, s int) (int, int, []uint8) {
	hw := w * h
	rgba := make([]byte, 4*hw)
	for i := range hw {
		rgba[4*i], rgba[4*i+1], rgba[4*i+2], rgba[4*i+3] = pix[i], pix[hw+i], pix[2*hw+i], 255
	}
	px, err := preprocess.FromRGBA(rgba, w, h, 3, s, s)
	if err != nil {
		panic(err) // sizes checked by decode
	}
	out := make([]uint8, len(px))
	for i, v := range px {
		out[i] = uint8(min(max(math.Round(float64(v)), 0), 255))
	}
	return s, s, out
}

// planar splits w×h RGBA pixels into R, G and B planes.
func planar(rgba []byte, w, h int) (int, int, []uint8) {
	hw := w * h
	pix := make([]uint8, 3*hw)
	for i := range hw {
		pix[i], pix[hw+i], pix[2*hw+i] = rgba[4*i], rgba[4*i+1], rgba[4*i+2]
	}
	return w, h, pix
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// walkFolder queues the images of DIR/CLASS/NAME and returns the class
// folders found (name → path).
func walkFolder(dir string, dec *decoder) (map[string]string, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	classes := map[string]string{}
	for _, c := range top {
		if hidden(c.Name()) {
			continue
		}
		cdir := filepath.Join(dir, c.Name())
		if fi, err := os.Stat(cdir); err != nil { // follows links
			return nil, fmt.Errorf("dataset: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("%w: %s: a file outside the class folders", ErrData, cdir)
		}
		classes[c.Name()] = cdir
		ents, err := os.ReadDir(cdir)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		for _, e := range ents {
			if hidden(e.Name()) {
				continue
			}
			p := filepath.Join(cdir, e.Name())
			if fi, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("dataset: %w", err)
			} else if fi.IsDir() {
				return nil, fmt.Errorf("%w: %s: a folder inside a class folder", ErrData, p)
			}
			dec.add(&imageFile{path: p, class: c.Name(), name: e.Name()})
		}
	}
	return classes, nil
}

// assemble orders the decoded files, checks them and builds the data set.
func assemble(source string, files []*imageFile, classDirs map[string]string, opt FolderOptions) (*Dataset, error) {
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.class != b.class {
			return a.class < b.class
		}
		return a.name < b.name
	})
	var classes []string
	for c := range classDirs {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	if len(classes) == 0 {
		return nil, fmt.Errorf("%w: %s: no class folders", ErrData, source)
	}
	label := map[string]int{}
	for i, c := range classes {
		label[c] = i
	}
	count := make([]int, len(classes))
	w, h := opt.W, opt.H
	var first string
	for i, f := range files {
		if f.err != nil {
			return nil, f.err
		}
		if i > 0 && f.class == files[i-1].class && f.name == files[i-1].name {
			return nil, fmt.Errorf("%w: %s: appears twice", ErrData, f.path)
		}
		if w == 0 && h == 0 {
			w, h, first = f.w, f.h, "the size of "+f.path
		}
		if f.w != w || f.h != h {
			if first == "" {
				first = "the size asked for"
			}
			return nil, fmt.Errorf("%w: %s: image is %d×%d, want %d×%d (%s)", ErrData, f.path, f.w, f.h, w, h, first)
		}
		count[label[f.class]]++
	}
	for i, n := range count {
		if n == 0 {
			return nil, fmt.Errorf("%w: %s: empty class folder", ErrData, classDirs[classes[i]])
		}
	}
	d := &Dataset{Classes: classes, C: 3, H: h, W: w,
		Images: make([]float32, len(files)*3*h*w), Labels: make([]int, len(files))}
	// Converting to float32 touches 4 bytes per pixel of fresh memory: split
	// it across the workers too.
	workers := opt.workers()
	var wg sync.WaitGroup
	per := (len(files) + workers - 1) / workers
	for lo := 0; lo < len(files); lo += per {
		wg.Go(func() {
			for i := lo; i < min(lo+per, len(files)); i++ {
				img := d.Image(i)
				for j, v := range files[i].pix {
					img[j] = float32(v)
				}
				d.Labels[i] = label[files[i].class]
			}
		})
	}
	wg.Wait()
	return d, nil
}
