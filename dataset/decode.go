package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the decoders image.Decode uses
	_ "image/png"
)

// MaxImagePixels bounds a decoded image (8192×8192), so that a hostile
// header cannot make a reader allocate gigabytes.
const MaxImagePixels = 1 << 26

// ErrImage is wrapped by the errors of DecodeImage.
var ErrImage = errors.New("not a usable image")

// DecodeImage decodes a PNG or JPEG image into w×h opaque RGBA pixels
// (alpha dropped, as training drops it): the one decoder of the data sets
// and of the commands' image arguments, so that an image file gives every
// consumer the same pixels. The declared size is checked against
// MaxImagePixels before anything is decoded. (It lives here, not in
// kernel/preprocess, so that the WebAssembly builds, which receive pixels
// from the browser, do not carry the decoders.)
func DecodeImage(data []byte) (rgba []byte, w, h int, err error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: not a PNG or JPEG image: %v", ErrImage, err)
	}
	w, h = cfg.Width, cfg.Height
	if w < 1 || h < 1 || w > MaxImagePixels/h {
		return nil, 0, 0, fmt.Errorf("%w: a %d×%d image is empty or over %d pixels", ErrImage, w, h, MaxImagePixels)
	}
	im, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: not a PNG or JPEG image: %v", ErrImage, err)
	}
	b := im.Bounds()
	w, h = b.Dx(), b.Dy()
	rgba = make([]byte, 4*w*h)
	switch m := im.(type) {
	case *image.YCbCr: // JPEG
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				p := rgba[4*(y*w+x):]
				p[0], p[1], p[2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				p[3] = 255
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := rgba[4*(y*w+x):]
				p[0], p[1], p[2], p[3] = row[x], row[x], row[x], 255
			}
		}
	case *image.RGBA: // from a PNG without alpha
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := rgba[4*(y*w+x):]
				p[0], p[1], p[2], p[3] = row[4*x], row[4*x+1], row[4*x+2], 255
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(im.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				p := rgba[4*(y*w+x):]
				p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
			}
		}
	}
	return rgba, w, h, nil
}
