package preprocess

import (
	"errors"
	"fmt"
	"math"
)

// ErrImage is wrapped by errors about an image's size or length.
var ErrImage = errors.New("preprocess: invalid image")

// maxOut bounds outH·outW, so that a caller's typo cannot allocate without
// bound (2²⁴ pixels is a 4096×4096 map, kernel.MaxSpatial squared).
const maxOut = 1 << 24

// FromRGBA turns an image of w×h RGBA pixels (4 bytes each, row-major, as
// in a canvas ImageData or image.RGBA.Pix with stride 4·w; alpha ignored)
// into c×outH×outW float32 pixel values in [0, 255], channel-major: c = 3
// gives the R, G, B planes, c = 1 the luminance 0.299R + 0.587G + 0.114B
// (ITU-R BT.601 on the encoded values, as image/color's GrayModel).
//
// The image is first cropped to the largest centred window with the
// output's aspect ratio (in continuous coordinates: a crop by an odd number
// of pixels takes half of each border pixel), then resampled on each axis:
// by area averaging when the window is at least as large as the output
// (each output pixel is the mean of the source area it covers, weighted by
// overlap; at equal sizes this is the identity), by bilinear interpolation
// between pixel centres when it is smaller (clamped at the image's edge).
//
// It fails with ErrImage for sizes below 1, c other than 1 or 3, or
// len(rgba) ≠ 4·w·h.
func FromRGBA(rgba []byte, w, h int, c, outH, outW int) ([]float32, error) {
	if w < 1 || h < 1 || outH < 1 || outW < 1 {
		return nil, fmt.Errorf("%w: %d×%d image to %d×%d", ErrImage, w, h, outW, outH)
	}
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("%w: %d channels, want 1 or 3", ErrImage, c)
	}
	if w > len(rgba)/4 || h > len(rgba)/4/w || len(rgba) != 4*w*h {
		return nil, fmt.Errorf("%w: %d bytes for %d×%d RGBA pixels, want 4·w·h", ErrImage, len(rgba), w, h)
	}
	if outW > maxOut/outH {
		return nil, fmt.Errorf("%w: output %d×%d over %d pixels", ErrImage, outW, outH, maxOut)
	}

	// The crop window [x0, x0+cw) × [y0, y0+ch), compared exactly in
	// integers first so that equal aspect ratios crop nothing.
	cw, ch := float64(w), float64(h)
	switch a, b := int64(w)*int64(outH), int64(h)*int64(outW); {
	case a > b: // wider than the output
		cw = float64(h) * float64(outW) / float64(outH)
	case a < b: // taller
		ch = float64(w) * float64(outH) / float64(outW)
	}
	xs := resampleTaps(outW, (float64(w)-cw)/2, cw, w)
	ys := resampleTaps(outH, (float64(h)-ch)/2, ch, h)
	xlo, xhi := xs[0].lo, xs[len(xs)-1].lo+len(xs[len(xs)-1].w)

	// One output row at a time: sum the weighted source rows into row
	// (channel-major, w entries per channel), then resample it across.
	out := make([]float32, c*outH*outW)
	row := make([]float64, c*w)
	plane := outH * outW
	for oy, ty := range ys {
		clear(row)
		for k, wy := range ty.w {
			src := rgba[4*w*(ty.lo+k) : 4*w*(ty.lo+k+1)]
			for x := xlo; x < xhi; x++ {
				r, g, b := float64(src[4*x]), float64(src[4*x+1]), float64(src[4*x+2])
				if c == 1 {
					row[x] += wy * (0.299*r + 0.587*g + 0.114*b)
					continue
				}
				row[x] += wy * r
				row[w+x] += wy * g
				row[2*w+x] += wy * b
			}
		}
		for ox, tx := range xs {
			for k := 0; k < c; k++ {
				var s float64
				for j, wx := range tx.w {
					s += wx * row[k*w+tx.lo+j]
				}
				out[k*plane+oy*outW+ox] = float32(s)
			}
		}
	}
	return out, nil
}

// tap is one output sample along an axis: w[j] weighs source pixel lo+j.
type tap struct {
	lo int
	w  []float64
}

// resampleTaps returns the taps of n output samples covering the source
// interval [lo, lo+extent) of an axis of size pixels.
func resampleTaps(n int, lo, extent float64, size int) []tap {
	taps := make([]tap, n)
	s := extent / float64(n) // source pixels per output pixel
	for i := range taps {
		if s >= 1 {
			// Area: output i covers [a, b); each source pixel j covers
			// [j, j+1) and weighs its overlap, normalised by b − a.
			a := lo + float64(i)*s
			b := a + s
			j0 := max(0, int(math.Floor(a)))
			j1 := min(size, int(math.Ceil(b)))
			t := tap{lo: j0}
			for j := j0; j < j1; j++ {
				t.w = append(t.w, (min(b, float64(j+1))-max(a, float64(j)))/s)
			}
			taps[i] = t
			continue
		}
		// Bilinear: output i's centre lies at u in source pixel-centre
		// coordinates (pixel j's centre is j).
		u := min(max(lo+(float64(i)+0.5)*s-0.5, 0), float64(size-1))
		j := int(u)
		if f := u - float64(j); f > 0 {
			taps[i] = tap{lo: j, w: []float64{1 - f, f}}
		} else {
			taps[i] = tap{lo: j, w: []float64{1}}
		}
	}
	return taps
}
