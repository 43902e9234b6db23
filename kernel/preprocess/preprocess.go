// Package preprocess applies the input preprocessing a model was trained
// with: per-channel normalization, or global contrast normalization followed
// by ZCA whitening (NOTES.md §5). Fitting lives in the trainer; applying lives
// here, so that native code and the browser compute the same input.
package preprocess

import (
	"errors"
	"fmt"
	"math"
)

// Kinds of preprocessing.
const (
	None    = "none"    // pixels scaled to [0, 1]
	Channel = "channel" // (pixel/255 − Mean[c]) / Std[c]
	GCNZCA  = "gcn-zca" // global contrast normalization, then ZCA whitening
)

// ErrParams is wrapped by errors about inconsistent parameters.
var ErrParams = errors.New("preprocess: invalid parameters")

// Params are the fitted parameters. Images enter as float32 pixel values in
// [0, 255], channel-major (C×H×W).
type Params struct {
	Kind string    `msgpack:"kind" json:"kind"`
	Mean []float32 `msgpack:"mean,omitempty" json:"mean,omitempty"` // Channel: per channel, on the [0, 1] scale
	Std  []float32 `msgpack:"std,omitempty" json:"std,omitempty"`
	// GCN: each image has its mean removed and is scaled so that its L2 norm
	// is GCNScale (pylearn2's global_contrast_normalize with scale 55,
	// sqrt_bias 0, min_divisor 1e-8), on the [0, 1] pixel scale.
	GCNScale float32 `msgpack:"gcn_scale,omitempty" json:"gcn_scale,omitempty"`
	// ZCA: x ← (x − ZCAMean)·ZCA, with ZCA a symmetric D×D matrix, D = C·H·W.
	ZCAMean []float32 `msgpack:"-" json:"-"`
	ZCA     []float32 `msgpack:"-" json:"-"`

	// Place and Size are the input contract (see PlaceResize): how an image
	// of any size becomes the net's input. Size is the height and width
	// the image is resampled to before normalisation, for PlaceCanvas and
	// PlaceCrop; zero for PlaceResize, whose size is the input's.
	Place string `msgpack:"place,omitempty" json:"place,omitempty"`
	Size  [2]int `msgpack:"size,omitempty" json:"size,omitempty"`
}

// Validate checks that the parameters fit a net input of c×h×w: the
// normalisation, and the placement of images on it.
func (p *Params) Validate(c, h, w int) error {
	if err := p.validatePlace(h, w); err != nil {
		return err
	}
	d := c * h * w
	switch p.Kind {
	case None, "":
	case Channel:
		if len(p.Mean) != c || len(p.Std) != c {
			return fmt.Errorf("%w: channel normalization has %d means and %d deviations for %d channels", ErrParams, len(p.Mean), len(p.Std), c)
		}
		for i, s := range p.Std {
			if !(s > 0) || math.IsInf(float64(s), 0) || math.IsNaN(float64(p.Mean[i])) {
				return fmt.Errorf("%w: channel %d: mean %v, deviation %v", ErrParams, i, p.Mean[i], s)
			}
		}
	case GCNZCA:
		if !(p.GCNScale > 0) {
			return fmt.Errorf("%w: GCN scale %v", ErrParams, p.GCNScale)
		}
		if len(p.ZCAMean) != d || len(p.ZCA) != d*d {
			return fmt.Errorf("%w: ZCA has %d means and %d matrix entries for dimension %d", ErrParams, len(p.ZCAMean), len(p.ZCA), d)
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrParams, p.Kind)
	}
	return nil
}

// Apply maps one image (pixels in [0, 255], C×H×W, len(img) = c·h·w) to the
// network's input, written to out (same length). tmp is scratch of the same
// length, used by ZCA; it may be nil for the other kinds.
func (p *Params) Apply(img, out, tmp []float32, c int) {
	switch p.Kind {
	case Channel:
		hw := len(img) / c
		for ch := 0; ch < c; ch++ {
			m, inv := p.Mean[ch], 1/p.Std[ch]
			for i := ch * hw; i < (ch+1)*hw; i++ {
				out[i] = (img[i]/255 - m) * inv
			}
		}
	case GCNZCA:
		gcn(img, tmp, p.GCNScale)
		for i := range tmp {
			tmp[i] -= p.ZCAMean[i]
		}
		// out = tmp·ZCA; the matrix is symmetric, so row i is column i.
		d := len(img)
		for i := 0; i < d; i++ {
			row := p.ZCA[i*d : (i+1)*d]
			var s float32
			for j, v := range row {
				s += v * tmp[j]
			}
			out[i] = s
		}
	default:
		for i, v := range img {
			out[i] = v / 255
		}
	}
}

// gcn writes the global contrast normalization of img (on the [0,1] scale) to out.
func gcn(img, out []float32, scale float32) {
	var mean float64
	for _, v := range img {
		mean += float64(v) / 255
	}
	mean /= float64(len(img))
	var ss float64
	for i, v := range img {
		x := float64(v)/255 - mean
		out[i] = float32(x)
		ss += x * x
	}
	norm := math.Sqrt(ss)
	if norm < 1e-8 {
		norm = 1
	}
	f := float32(float64(scale) / norm)
	for i := range out {
		out[i] *= f
	}
}

// GCN is global contrast normalization of one image, exported for the
// trainer, which fits ZCA on its output.
func GCN(img, out []float32, scale float32) { gcn(img, out, scale) }
