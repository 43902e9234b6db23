package allcnn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/render"
)

// SaliencyRequest says which unit a saliency map explains, by which method,
// and how SaliencyRGBA draws it. Both wasm builds fill it from the same
// options (Set), so JavaScript and WASI hosts share one vocabulary.
type SaliencyRequest struct {
	// Method names the explanation method (Methods): the paper's backward
	// rules "gradient" (or ""), "deconvnet" and "guided" (Fig. 1), or one
	// beyond the paper, with the settings below.
	Method string
	// Rule is the rule the SmoothGrad family averages ("" is gradient).
	Rule string
	// Samples, Noise and Seed configure the SmoothGrad family
	// (kernel.Noise: 0 means 16 samples, noise 0.15 of the image's range).
	Samples int
	Noise   float64
	Seed    uint64
	// Steps and Baseline configure integrated gradients (kernel.Integration:
	// 0 means 32 steps; baseline zero, blur or mean).
	Steps    int
	Baseline string
	// CAMLayer is Grad-CAM's layer ("": DefaultCAMLayer).
	CAMLayer string
	// Window and Stride configure occlusion (kernel.Occlusion: 0 means an
	// eighth of the input, and half the window).
	Window, Stride int
	// Layer names the layer whose unit is explained (Info.Layers); "" means
	// the output, so Unit is a class. A convolution followed by a rectifier
	// means its rectified activation (kernel.Net.Unit).
	Layer string
	// Unit is the class or the layer's channel; −1 means the strongest: the
	// top class, or the channel with the largest activation in the layer
	// (at At, if given). NewRequest starts at −1; the zero value is class 0.
	Unit int
	// At is the unit's position (y, x) in the layer's map; nil means the
	// position where the unit's channel is largest.
	At *[2]int
	// Switches runs the request on the switched net of the paper's
	// Figs. 4–5 (kernel.SwitchedSpec): each stride-2 convolution becomes a
	// stride-1 convolution followed by 2×2 max-pooling, whose switches
	// guide the signal back. Layer names refer to that net
	// (Info.SwitchedLayers): such a convolution's map is twice as large,
	// and NAME.pool has the original size.
	Switches bool
	// Spread sends each max-pool's signal back evenly over its window
	// (kernel.NoSwitches) instead of through the switches the forward pass
	// recorded: the paper's reconstruction "without switches" of a net
	// with max-pooling (Model C, or the switched net).
	Spread bool
	// Render is how SaliencyRGBA draws the map.
	Render render.Options
}

// NewRequest returns the request that options start from: the gradient of
// the top class, drawn with render's defaults.
func NewRequest() SaliencyRequest { return SaliencyRequest{Unit: -1} }

// Option names, as Set accepts them.
const optionNames = "method, rule, samples, noise, seed, steps, baseline, camlayer, window, stride, layer, unit, at, switches, pool, reduce, sign, clip, colormap, overlay"

// Set sets one option from its text, as the wasm builds receive them:
//
//	method    gradient | deconvnet | guided | smoothgrad | smoothgrad2 |
//	          vargrad | integrated | gradcam | guided-gradcam | occlusion
//	rule      gradient | deconvnet | guided   (averaged by the SmoothGrad family)
//	samples   SmoothGrad's noisy copies, ≥ 1 (default 16)
//	noise     SmoothGrad's σ as a fraction of the image's range, ≥ 0 (default 0.15)
//	seed      SmoothGrad's random seed, an unsigned integer
//	steps     integrated gradients' points on the path, ≥ 1 (default 32)
//	baseline  zero | blur | mean              (integrated gradients)
//	camlayer  Grad-CAM's layer; empty for the highest convolution with a map
//	window    occlusion's patch side in pixels, ≥ 1
//	stride    occlusion's step in pixels, ≥ 1
//	layer     a layer name, or empty for the class
//	unit      an integer; -1 for the strongest
//	at        "y,x", or empty for the strongest position
//	switches  true | false (also 1 | 0)
//	pool      switches | spread             (SaliencyRequest.Spread)
//	reduce    sum | max | maxabs            (render.Reduction)
//	sign      all | positive | negative | absolute   (render.Sign)
//	clip      a percentile in [0, 100], e.g. 99.5; 0 clips nothing
//	colormap  gray | viridis | inferno | coolwarm | rgb
//	overlay   a weight in [0, 1]; 0 draws the map alone
//
// Errors wrap ErrRequest and name the option.
func (r *SaliencyRequest) Set(key, value string) error {
	err := r.set(key, value)
	if err != nil {
		return fmt.Errorf("allcnn: option %s=%q: %w: %w", key, value, ErrRequest, err)
	}
	return nil
}

func (r *SaliencyRequest) set(key, value string) error {
	var err error
	switch key {
	case "method":
		if err = (Method{Name: value}).check(); err != nil {
			return err
		}
		r.Method = value
	case "rule":
		if value != "" {
			_, err = kernel.ParseReLURule(value)
		}
		r.Rule = value
	case "samples", "steps", "window", "stride":
		v, err := strconv.Atoi(value)
		if err != nil || v < 1 || v > 4096 {
			return errors.New("want an integer in [1, 4096]")
		}
		*map[string]*int{"samples": &r.Samples, "steps": &r.Steps, "window": &r.Window, "stride": &r.Stride}[key] = v
	case "noise":
		if r.Noise, err = strconv.ParseFloat(value, 64); err != nil || !(r.Noise >= 0 && r.Noise <= 10) {
			return errors.New("want a fraction in [0, 10]")
		}
	case "seed":
		if r.Seed, err = strconv.ParseUint(value, 10, 64); err != nil {
			return errors.New("want an unsigned integer")
		}
	case "baseline":
		if _, err = kernel.ParseBaseline(value); err != nil {
			return err
		}
		r.Baseline = value
	case "camlayer":
		r.CAMLayer = value
	case "layer":
		r.Layer = value
	case "unit":
		if r.Unit, err = strconv.Atoi(value); err != nil {
			return errors.New("want an integer")
		}
	case "at":
		if value == "" {
			r.At = nil
			return nil
		}
		ys, xs, ok := strings.Cut(value, ",")
		y, err1 := strconv.Atoi(strings.TrimSpace(ys))
		x, err2 := strconv.Atoi(strings.TrimSpace(xs))
		if !ok || err1 != nil || err2 != nil {
			return errors.New("want y,x (integers)")
		}
		r.At = &[2]int{y, x}
	case "switches":
		if r.Switches, err = strconv.ParseBool(value); err != nil {
			return errors.New("want true or false")
		}
	case "pool":
		switch value {
		case "switches":
			r.Spread = false
		case "spread":
			r.Spread = true
		default:
			return errors.New("want switches or spread")
		}
	case "reduce":
		r.Render.Reduce, err = lookup(value, []string{"sum", "max", "maxabs"}, []render.Reduction{render.Sum, render.Max, render.MaxAbs})
	case "sign":
		r.Render.Sign, err = lookup(value, []string{"all", "positive", "negative", "absolute"}, []render.Sign{render.All, render.Positive, render.Negative, render.Absolute})
	case "clip":
		if r.Render.Clip, err = strconv.ParseFloat(value, 64); err != nil || !(r.Render.Clip >= 0 && r.Render.Clip <= 100) {
			return errors.New("want a percentile in [0, 100]")
		}
	case "colormap":
		r.Render.Colormap = render.Colormap(value)
		_, err = r.Render.Colormap.At(0)
	case "overlay":
		if r.Render.Overlay, err = strconv.ParseFloat(value, 64); err != nil || !(r.Render.Overlay >= 0 && r.Render.Overlay <= 1) {
			return errors.New("want a weight in [0, 1]")
		}
	default:
		return errors.New("unknown option (known: " + optionNames + ")")
	}
	return err
}

// lookup returns the value whose name is s.
func lookup[T any](s string, names []string, values []T) (T, error) {
	for i, n := range names {
		if n == s {
			return values[i], nil
		}
	}
	var zero T
	return zero, errors.New("want one of " + strings.Join(names, ", "))
}

// ParseRequest reads options written as a query string,
// "method=guided&layer=conv6&unit=-1", into NewRequest(): pairs separated
// by '&', each key=value (see Set), with %XX escapes decoded in both so
// that a value may hold '&', '=' or '%'. Empty pairs are skipped.
func ParseRequest(q string) (SaliencyRequest, error) {
	r := NewRequest()
	for pair := range strings.SplitSeq(q, "&") {
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return r, fmt.Errorf("allcnn: option %q: want key=value: %w", pair, ErrRequest)
		}
		k, err := unescape(k)
		if err != nil {
			return r, err
		}
		if v, err = unescape(v); err != nil {
			return r, err
		}
		if err := r.Set(k, v); err != nil {
			return r, err
		}
	}
	return r, nil
}

// unescape decodes %XX escapes (two hexadecimal digits).
func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("allcnn: option %q: truncated %% escape: %w", s, ErrRequest)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("allcnn: option %q: bad %% escape: %w", s, ErrRequest)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// method is the request's Method, checked.
func (r *SaliencyRequest) method() (Method, error) {
	m := Method{Name: r.Method, Rule: r.Rule, Spread: r.Spread, Layer: r.CAMLayer,
		Noise:       kernel.Noise{Samples: r.Samples, Level: r.Noise, Seed: r.Seed},
		Integration: kernel.Integration{Steps: r.Steps},
		Occlusion:   kernel.Occlusion{Window: r.Window, Stride: r.Stride}}
	if err := m.check(); err != nil {
		return m, fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
	}
	if r.Baseline != "" {
		b, err := kernel.ParseBaseline(r.Baseline)
		if err != nil {
			return m, fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
		}
		m.Integration.Baseline = b
	}
	return m, nil
}
