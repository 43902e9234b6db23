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
	// Method is the backward rule at every rectifier: "gradient" (or ""),
	// "deconvnet" or "guided" (paper Fig. 1).
	Method string
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
const optionNames = "method, layer, unit, at, switches, pool, reduce, sign, clip, colormap, overlay"

// Set sets one option from its text, as the wasm builds receive them:
//
//	method    gradient | deconvnet | guided
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
		if value != "" {
			_, err = kernel.ParseReLURule(value)
		}
		r.Method = value
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

// rule is the backward rule of the request's method.
func (r *SaliencyRequest) rule() (kernel.ReLURule, error) {
	if r.Method == "" {
		return kernel.Gradient, nil
	}
	rule, err := kernel.ParseReLURule(r.Method)
	if err != nil {
		return 0, fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
	}
	return rule, nil
}
