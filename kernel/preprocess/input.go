package preprocess

import (
	"fmt"
	"math"
)

// The input contract: how an image of any size becomes a net's input. A
// model file stores it in its Params (Place, Size), the trainer writes it,
// and every consumer (eval, predict, viz, serve, both WebAssembly builds)
// reads images through Params.Input or Params.InputFromPixels, so that the
// trainer's own evaluation and every consumer agree by construction.
//
// The path is the same for every placement: resample the image to the
// source size (SourceSize) with FromRGBA, apply the normalisation (Apply),
// then place the result on the input (Place).
const (
	// PlaceResize resamples the image's centred crop to the input's aspect
	// ratio straight to the input size: the small CIFAR nets. The source
	// size is the input's. Files older than the contract say nothing
	// (Place ""), which means this.
	PlaceResize = "resize"
	// PlaceCanvas resamples the image to Size, normalises it, and puts it
	// in the centre of a zero canvas of the input's size: the Large
	// All-CNN, trained on 32×32 images on a 126×126 canvas (Springenberg et
	// al. 2014, §3). The canvas is 0 in normalised values (the data's mean
	// with per-channel normalisation).
	PlaceCanvas = "canvas"
	// PlaceCrop resamples the image's central square to Size×Size (its
	// shorter side scaled to Size), normalises it, and keeps the input's
	// central window: ImageNet-style nets trained on random crops.
	PlaceCrop = "crop"
)

// Placements lists the placements, PlaceResize first.
var Placements = []string{PlaceResize, PlaceCanvas, PlaceCrop}

// validatePlace checks Place and Size against a net input of h×w.
func (p *Params) validatePlace(h, w int) error {
	sh, sw := p.Size[0], p.Size[1]
	switch p.Place {
	case "", PlaceResize:
		if p.Size != [2]int{} && p.Size != [2]int{h, w} {
			return fmt.Errorf("%w: placement %q with size %d×%d: the image is resampled to the input, %d×%d", ErrParams, PlaceResize, sh, sw, h, w)
		}
		return nil
	case PlaceCanvas, PlaceCrop:
	default:
		return fmt.Errorf("%w: unknown placement %q (want %s, %s or %s)", ErrParams, p.Place, PlaceResize, PlaceCanvas, PlaceCrop)
	}
	if sh < 1 || sw < 1 || sw > maxOut/sh {
		return fmt.Errorf("%w: placement %q with size %d×%d", ErrParams, p.Place, sh, sw)
	}
	if p.Place == PlaceCanvas && (sh > h || sw > w) {
		return fmt.Errorf("%w: placement %q: a %d×%d image does not fit the %d×%d input", ErrParams, p.Place, sh, sw, h, w)
	}
	if p.Place == PlaceCrop && (sh < h || sw < w) {
		return fmt.Errorf("%w: placement %q: a %d×%d image is smaller than the %d×%d input", ErrParams, p.Place, sh, sw, h, w)
	}
	if p.Kind == GCNZCA {
		return fmt.Errorf("%w: placement %q with ZCA, which whitens whole inputs only", ErrParams, p.Place)
	}
	return nil
}

// SourceSize is the height and width an image is resampled to before
// normalisation, for a net input of in (channels, height, width): Size for
// PlaceCanvas and PlaceCrop, the input's for PlaceResize.
func (p *Params) SourceSize(in [3]int) (h, w int) {
	if p.Place == PlaceCanvas || p.Place == PlaceCrop {
		return p.Size[0], p.Size[1]
	}
	return in[1], in[2]
}

// Input turns an image of w×h RGBA pixels (4 bytes each, row-major, alpha
// ignored) into the net's input for in = (channels, height, width): the
// image resampled to SourceSize (FromRGBA), normalised (Apply) and placed
// (Place). in's channels must be 1 (luminance) or 3 (RGB). The result has
// in[0]·in[1]·in[2] values.
func (p *Params) Input(rgba []byte, w, h int, in [3]int) ([]float32, error) {
	return p.fromRGBA(rgba, w, h, in, true)
}

// Pixels is the image as the net's input shows it, before normalisation:
// in[0]×in[1]×in[2] pixel values in [0, 255], resampled and placed as Input
// places them (on a black canvas for PlaceCanvas). Explanations are drawn
// over it.
func (p *Params) Pixels(rgba []byte, w, h int, in [3]int) ([]float32, error) {
	return p.fromRGBA(rgba, w, h, in, false)
}

// InputFromPixels is Input for an image of c×h×w pixel values in [0, 255]
// (channel-major, as a data set holds it), written to out (in[0]·in[1]·in[2]
// values). An image already at the source size with the input's channels
// goes straight to Apply and Place; any other is resampled as Input does,
// through FromRGBA, with its values rounded to whole levels (the data
// loaders give whole levels) and one channel repeated into R, G and B.
func (p *Params) InputFromPixels(img []float32, c, h, w int, in [3]int, out []float32) error {
	return p.fromPixels(img, c, h, w, in, out, true)
}

// PixelsFromPixels is Pixels for an image of c×h×w pixel values, as
// InputFromPixels is Input.
func (p *Params) PixelsFromPixels(img []float32, c, h, w int, in [3]int, out []float32) error {
	return p.fromPixels(img, c, h, w, in, out, false)
}

func (p *Params) fromRGBA(rgba []byte, w, h int, in [3]int, normalise bool) ([]float32, error) {
	sh, sw := p.SourceSize(in)
	img, err := FromRGBA(rgba, w, h, in[0], sh, sw)
	if err != nil {
		return nil, err
	}
	out := make([]float32, in[0]*in[1]*in[2])
	p.fromSource(img, out, in, normalise)
	return out, nil
}

func (p *Params) fromPixels(img []float32, c, h, w int, in [3]int, out []float32, normalise bool) error {
	if c < 1 || h < 1 || w < 1 || len(img) != c*h*w {
		return fmt.Errorf("%w: %d values for a %d×%d×%d image", ErrImage, len(img), c, h, w)
	}
	if len(out) != in[0]*in[1]*in[2] {
		return fmt.Errorf("%w: output of %d values for a %d×%d×%d input", ErrImage, len(out), in[0], in[1], in[2])
	}
	if sh, sw := p.SourceSize(in); c == in[0] && h == sh && w == sw {
		p.fromSource(img, out, in, normalise)
		return nil
	}
	rgba := make([]byte, 4*h*w)
	hw := h * w
	for i := range hw {
		for ch := range 3 {
			v := math.Round(float64(img[min(ch, c-1)*hw+i]))
			rgba[4*i+ch] = uint8(min(max(v, 0), 255))
		}
		rgba[4*i+3] = 255
	}
	x, err := p.fromRGBA(rgba, w, h, in, normalise)
	if err != nil {
		return err
	}
	copy(out, x)
	return nil
}

// fromSource normalises img, at the source size, if asked, and places it
// on out.
func (p *Params) fromSource(img, out []float32, in [3]int, normalise bool) {
	sh, sw := p.SourceSize(in)
	same := sh == in[1] && sw == in[2]
	switch {
	case normalise && same:
		var tmp []float32
		if p.Kind == GCNZCA {
			tmp = make([]float32, len(img))
		}
		p.Apply(img, out, tmp, in[0])
		return
	case normalise:
		x := make([]float32, len(img))
		p.Apply(img, x, nil, in[0]) // not ZCA: validatePlace refuses it
		img = x
	}
	Place(img, out, in[0], sh, sw, in[1], in[2])
}

// Place writes img (c×h×w) to out (c×H×W): a copy when the sizes are
// equal; when img is smaller on both axes, in the centre of a zero canvas,
// its top-left corner at ((H−h)/2, (W−w)/2) rounded down; when larger on
// both, its central H×W window, from ((h−H)/2, (w−W)/2) rounded down. An
// image larger on one axis and smaller on the other panics, as do lengths
// that do not match: callers check sizes first (Params.Validate).
func Place(img, out []float32, c, h, w, H, W int) {
	if len(img) != c*h*w || len(out) < c*H*W {
		panic(fmt.Sprintf("preprocess: Place: %d values for %d×%d×%d, %d for %d×%d×%d", len(img), c, h, w, len(out), c, H, W))
	}
	switch {
	case h <= H && w <= W:
		if h < H || w < W {
			clear(out[:c*H*W])
		}
		y0, x0 := (H-h)/2, (W-w)/2
		for ch := range c {
			for y := range h {
				d := (ch*H+y0+y)*W + x0
				copy(out[d:d+w], img[(ch*h+y)*w:(ch*h+y+1)*w])
			}
		}
	case h >= H && w >= W:
		y0, x0 := (h-H)/2, (w-W)/2
		for ch := range c {
			for y := range H {
				s := (ch*h+y0+y)*w + x0
				copy(out[(ch*H+y)*W:(ch*H+y+1)*W], img[s:s+W])
			}
		}
	default:
		panic(fmt.Sprintf("preprocess: Place: a %d×%d image on a %d×%d input", h, w, H, W))
	}
}
