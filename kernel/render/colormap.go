package render

import (
	"fmt"
	"image"
	"image/color"
)

// Colormap names how a normalised value t in [0,1] becomes a colour. The
// sequential maps (Gray, Viridis, Inferno) suit Positive, Negative and
// Absolute; Coolwarm is diverging, the natural choice for All, where
// Normalize puts 0 at its centre. "" means Gray.
type Colormap string

const (
	// Gray runs from black (0) to white (1).
	Gray Colormap = "gray"
	// Viridis is matplotlib's perceptually uniform purple–teal–yellow map.
	Viridis Colormap = "viridis"
	// Inferno is matplotlib's perceptually uniform black–red–yellow map.
	Inferno Colormap = "inferno"
	// Coolwarm is Moreland's diverging blue–grey–red map; t = 0.5 is the
	// neutral grey (221,221,221).
	Coolwarm Colormap = "coolwarm"
	// RGB skips the channel reduction: Map normalises all channels of a
	// 1- or 3-channel map together and shows them as a colour image (each
	// channel a Gray ramp), the look of the paper's guided-backprop figures.
	// On a single plane, as in Colorize and At, it is Gray.
	RGB Colormap = "rgb"
)

// The control points below are colours at evenly spaced t from 0 to 1;
// between them colours are interpolated linearly in sRGB.
//
// Viridis and Inferno: the 256-entry tables of matplotlib's maps by Stéfan
// van der Walt and Nathaniel Smith (github.com/BIDS/colormap, CC0), sampled
// at t = k/8 — the nine colours R's viridisLite::viridis(9) and inferno(9)
// print. Nine points keep each channel within a few levels of the table.
//
// Coolwarm: Kenneth Moreland, "Diverging Color Maps for Scientific
// Visualization" (ISVC 2009), the published 33-point table
// CoolWarmFloat33.csv taken at every fourth row (t = k/8), ×255, rounded.
// This is the map matplotlib calls "coolwarm".
var (
	grayStops    = []color.RGBA{rgb(0x000000), rgb(0xffffff)}
	viridisStops = []color.RGBA{
		rgb(0x440154), rgb(0x472d7b), rgb(0x3b528b), rgb(0x2c728e), rgb(0x21908c),
		rgb(0x27ad81), rgb(0x5dc863), rgb(0xaadc32), rgb(0xfde725),
	}
	infernoStops = []color.RGBA{
		rgb(0x000004), rgb(0x1f0c48), rgb(0x550f6d), rgb(0x88226a), rgb(0xba3655),
		rgb(0xe35932), rgb(0xf98c0a), rgb(0xf9c932), rgb(0xfcffa4),
	}
	coolwarmStops = []color.RGBA{
		{59, 76, 192, 255}, {98, 130, 234, 255}, {141, 176, 254, 255}, {184, 208, 249, 255},
		{221, 221, 221, 255},
		{245, 196, 173, 255}, {244, 154, 123, 255}, {222, 96, 77, 255}, {180, 4, 38, 255},
	}
)

func rgb(hex uint32) color.RGBA {
	return color.RGBA{uint8(hex >> 16), uint8(hex >> 8), uint8(hex), 255}
}

func (c Colormap) stops() ([]color.RGBA, error) {
	switch c {
	case "", Gray, RGB:
		return grayStops, nil
	case Viridis:
		return viridisStops, nil
	case Inferno:
		return infernoStops, nil
	case Coolwarm:
		return coolwarmStops, nil
	}
	return nil, fmt.Errorf("render: colormap %q (want gray, viridis, inferno, coolwarm or rgb): %w", string(c), ErrOption)
}

// At returns the colour at t, clamped to [0,1] (NaN counts as 0), for
// drawing a colour bar. It fails with ErrOption for an unknown name.
func (c Colormap) At(t float64) (color.RGBA, error) {
	s, err := c.stops()
	if err != nil {
		return color.RGBA{}, err
	}
	return lerp(s, t), nil
}

// lerp interpolates linearly between evenly spaced stops.
func lerp(stops []color.RGBA, t float64) color.RGBA {
	if !(t > 0) {
		return stops[0]
	}
	if t >= 1 {
		return stops[len(stops)-1]
	}
	pos := t * float64(len(stops)-1)
	i := int(pos)
	f := pos - float64(i)
	a, b := stops[i], stops[i+1]
	mix := func(x, y uint8) uint8 { return uint8(float64(x) + f*(float64(y)-float64(x)) + 0.5) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// Colorize draws the h×w plane m of normalised values (see Normalize;
// values outside [0,1] are clamped) through cmap as an opaque image with
// bounds (0,0)–(w,h). It fails with ErrShape if len(m) ≠ h·w, ErrValue on
// NaN or ±Inf, and ErrOption for an unknown colormap.
func Colorize(m []float32, h, w int, cmap Colormap) (*image.RGBA, error) {
	stops, err := cmap.stops()
	if err != nil {
		return nil, err
	}
	if err := checkShape("map", len(m), 1, h, w); err != nil {
		return nil, err
	}
	if err := checkFinite("map", m); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, t := range m {
		c := lerp(stops, float64(t))
		p := img.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
	}
	return img, nil
}
