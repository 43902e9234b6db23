package render

import (
	"fmt"
	"image"
	"image/color"
)

// Options choose how Map draws a saliency map. The zero value sums the
// channels, keeps both signs, does not clip, and draws in Gray with 0 as
// mid-grey — the classic look of a raw gradient.
type Options struct {
	// Reduce collapses the channels (ignored by the RGB colormap).
	Reduce Reduction
	// Sign selects the part of the map to show.
	Sign Sign
	// Clip is the percentile of |v| at which outliers are clamped before
	// normalising, e.g. 99.5; 0 means plain scaling. See Normalize.
	Clip float64
	// Colormap is "gray" (or ""), "viridis", "inferno", "coolwarm" or "rgb".
	Colormap Colormap
	// Overlay is 0 for the map alone; in (0,1] the coloured map is blended
	// over the input image with this weight: (1−Overlay)·input +
	// Overlay·map per channel, so 1 shows the map alone.
	Overlay float64
}

// Map draws one saliency map: sal holds c×h×w float32 values (one example
// of a kernel.Tensor, channel-major). With opt.Colormap RGB, the map must
// have 1 or 3 channels; all of them are normalised together and drawn as
// Pixels(255·t). Otherwise Reduce collapses the channels, Normalize scales
// the plane, and Colorize colours it. If opt.Overlay > 0 the result is
// blended over input, which must then be non-nil and w×h (its bounds may
// start anywhere; its colour channels are used as drawn on black, so a
// transparent pixel counts as black). input is ignored when opt.Overlay is 0.
//
// The result is opaque with bounds (0,0)–(w,h). Map fails with ErrShape
// (lengths, sizes, channel count), ErrValue (NaN or ±Inf in sal) or
// ErrOption (an option out of range, or Overlay > 0 with a nil input).
func Map(sal []float32, c, h, w int, opt Options, input image.Image) (*image.RGBA, error) {
	if err := checkShape("saliency", len(sal), c, h, w); err != nil {
		return nil, err
	}
	if _, err := opt.Colormap.stops(); err != nil {
		return nil, err
	}
	if !(opt.Overlay >= 0 && opt.Overlay <= 1) {
		return nil, fmt.Errorf("render: overlay weight %v outside [0,1]: %w", opt.Overlay, ErrOption)
	}
	if opt.Overlay > 0 {
		if input == nil {
			return nil, fmt.Errorf("render: overlay %v needs an input image: %w", opt.Overlay, ErrOption)
		}
		if b := input.Bounds(); b.Dx() != w || b.Dy() != h {
			return nil, fmt.Errorf("render: input is %d×%d, map %d×%d: %w", b.Dx(), b.Dy(), w, h, ErrShape)
		}
	}
	var img *image.RGBA
	if opt.Colormap == RGB {
		if c != 1 && c != 3 {
			return nil, fmt.Errorf("render: colormap rgb needs 1 or 3 channels, map has %d: %w", c, ErrShape)
		}
		t, err := Normalize(sal, opt.Sign, opt.Clip)
		if err != nil {
			return nil, err
		}
		for i := range t {
			t[i] *= 255
		}
		if img, err = Pixels(t, c, h, w); err != nil {
			return nil, err
		}
	} else {
		plane, err := Reduce(sal, c, h, w, opt.Reduce)
		if err != nil {
			return nil, err
		}
		t, err := Normalize(plane, opt.Sign, opt.Clip)
		if err != nil {
			return nil, err
		}
		if img, err = Colorize(t, h, w, opt.Colormap); err != nil {
			return nil, err
		}
	}
	if opt.Overlay > 0 {
		blend(img, input, opt.Overlay)
	}
	return img, nil
}

// blend sets dst to (1−a)·src + a·dst per colour channel; src is dst's size.
func blend(dst *image.RGBA, src image.Image, a float64) {
	under := toRGBA(src)
	for i := 0; i < len(dst.Pix); i += 4 {
		for k := range 3 {
			dst.Pix[i+k] = uint8((1-a)*float64(under.Pix[i+k]) + a*float64(dst.Pix[i+k]) + 0.5)
		}
	}
}

// toRGBA returns img drawn on black into an *image.RGBA with bounds at
// (0,0) and stride 4·width; img itself if it already is one. (A loop over
// At rather than image/draw, which would add 25 KB to a wasm binary.)
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	if m, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) && m.Stride == 4*b.Dx() {
		return m
	}
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			c := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// Pixels draws an input image given as c×h×w float32 values in [0,255]
// (c = 1: grey, c = 3: R, G, B planes), rounding to the nearest level and
// clamping values outside the range. The result is opaque with bounds
// (0,0)–(w,h). It fails with ErrShape for another c or a wrong length and
// with ErrValue on NaN or ±Inf.
func Pixels(img []float32, c, h, w int) (*image.RGBA, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("render: image has %d channels, want 1 or 3: %w", c, ErrShape)
	}
	if err := checkShape("image", len(img), c, h, w); err != nil {
		return nil, err
	}
	if err := checkFinite("image", img); err != nil {
		return nil, err
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	hw := h * w
	for i := range hw {
		p := out.Pix[4*i : 4*i+4 : 4*i+4]
		for k := range 3 {
			p[k] = level(img[min(k, c-1)*hw+i])
		}
		p[3] = 255
	}
	return out, nil
}

// level rounds v to the nearest of 0..255.
func level(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// Scale enlarges img k times by nearest neighbour (each pixel becomes a k×k
// block), returning an image with bounds at (0,0). It panics if k < 1.
func Scale(img image.Image, k int) *image.RGBA {
	if k < 1 {
		panic(fmt.Sprintf("render: Scale by %d", k))
	}
	src := toRGBA(img)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, k*w, k*h))
	for y := range h {
		row := dst.Pix[k*y*dst.Stride : (k*y+1)*dst.Stride]
		for x := range w {
			px := src.Pix[4*(y*w+x) : 4*(y*w+x)+4]
			for j := range k {
				copy(row[4*(k*x+j):], px)
			}
		}
		for j := 1; j < k; j++ {
			copy(dst.Pix[(k*y+j)*dst.Stride:], row)
		}
	}
	return dst
}
