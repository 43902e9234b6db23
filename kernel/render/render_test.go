package render_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/allcnn/allcnn/kernel/render"
)

// equal fails unless got and want agree within tol element by element.
func equal(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d %v", name, len(got), got, len(want), want)
	}
	for i := range got {
		if math.Abs(float64(got[i])-float64(want[i])) > tol {
			t.Fatalf("%s: [%d] = %v, want %v (all: %v, want %v)", name, i, got[i], want[i], got, want)
		}
	}
}

func rgbaAt(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }

// sal3 is a hand-made 3×2×2 map: channel-major, pixels row-major.
var sal3 = []float32{
	1, -2, 3, 0, // channel 0
	2, -5, -3, 0.5, // channel 1
	-4, 1, 0, -0.5, // channel 2
}

func TestReduce(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    render.Reduction
		want []float32
	}{
		{"sum", render.Sum, []float32{-1, -6, 0, 0}},
		{"max", render.Max, []float32{2, 1, 3, 0.5}},
		// pixel 2 ties 3 and −3, pixel 3 ties 0.5 and −0.5: the lower channel wins.
		{"maxabs", render.MaxAbs, []float32{-4, -5, 3, 0.5}},
	} {
		got, err := render.Reduce(sal3, 3, 2, 2, tc.r)
		if err != nil {
			t.Fatal(tc.name, err)
		}
		equal(t, tc.name, got, tc.want, 0)
	}
	one := []float32{-1, 2, 0, 7}
	for _, r := range []render.Reduction{render.Sum, render.Max, render.MaxAbs} {
		got, err := render.Reduce(one, 1, 2, 2, r)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "one channel", got, one, 0)
	}
}

func TestNormalizeSign(t *testing.T) {
	m := []float32{-2, -1, 0, 1, 4}
	for _, tc := range []struct {
		name string
		m    []float32
		sign render.Sign
		want []float32
	}{
		// All: 0.5 + 0.5·v/max|v|, max|v| = 4.
		{"all", m, render.All, []float32{0.25, 0.375, 0.5, 0.625, 1}},
		{"positive", m, render.Positive, []float32{0, 0, 0, 0.25, 1}},
		{"negative", m, render.Negative, []float32{1, 0.5, 0, 0, 0}},
		{"absolute", m, render.Absolute, []float32{0.5, 0.25, 0, 0.25, 1}},
		// min-max, not divide-by-max: the smallest value maps to 0.
		{"absolute min-max", []float32{2, 3, 4}, render.Absolute, []float32{0, 0.5, 1}},
		{"all zero", []float32{0, 0, 0}, render.All, []float32{0.5, 0.5, 0.5}},
		{"all negative", []float32{-1, -3}, render.All, []float32{1.0 / 3, 0}},
		{"constant positive", []float32{3, 3, 3}, render.Positive, []float32{0, 0, 0}},
		{"constant absolute", []float32{-3, 3}, render.Absolute, []float32{0, 0}},
		{"empty", []float32{}, render.All, []float32{}},
	} {
		got, err := render.Normalize(tc.m, tc.sign, 0)
		if err != nil {
			t.Fatal(tc.name, err)
		}
		equal(t, tc.name, got, tc.want, 1e-7)
	}
}

func TestNormalizeClip(t *testing.T) {
	// 399 values 0..398 and one outlier. The 99th percentile sits at
	// position 0.99·399 = 395.01 of the sorted values: 395.01.
	m := make([]float32, 400)
	for i := range 399 {
		m[i] = float32(i)
	}
	m[399] = 1e6

	plain, err := render.Normalize(m, render.Absolute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plain[398] > 0.001 {
		t.Fatalf("without clipping 398 → %v; the test needs the outlier to wash it out", plain[398])
	}
	clipped, err := render.Normalize(m, render.Absolute, 99)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "clipped", []float32{clipped[0], clipped[200], clipped[395], clipped[396], clipped[399]},
		[]float32{0, 200 / 395.01, 395 / 395.01, 1, 1}, 1e-6)

	// All clips symmetrically at the percentile of |v|.
	s := append([]float32(nil), m...)
	for i := range s {
		if i%2 == 1 {
			s[i] = -s[i]
		}
	}
	all, err := render.Normalize(s, render.All, 99)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "all clipped", []float32{all[0], all[200], all[201], all[399]},
		[]float32{0.5, 0.5 + 0.5*200/395.01, 0.5 - 0.5*201/395.01, 0}, 1e-6)

	// A map that is zero almost everywhere has a 99th percentile of 0:
	// clipping is skipped rather than blanking the few non-zero values.
	sparse := make([]float32, 1000)
	sparse[7], sparse[8] = 5, 10
	got, err := render.Normalize(sparse, render.Positive, 99)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "sparse", got[6:9], []float32{0, 0.5, 1}, 0)

	// Clip 100 and 0 change nothing.
	for _, q := range []float64{0, 100} {
		got, err := render.Normalize(m, render.Absolute, q)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "clip 0/100", got, plain, 0)
	}
}

// luminance is the relative luminance of an sRGB colour (IEC 61966-2-1
// linearisation, Rec. 709 weights).
func luminance(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

func at(t *testing.T, cm render.Colormap, x float64) color.RGBA {
	t.Helper()
	c, err := cm.At(x)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestColormapEnds(t *testing.T) {
	for _, tc := range []struct {
		cm        render.Colormap
		low, high color.RGBA
	}{
		{render.Gray, color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}},
		{"", color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}},
		{render.RGB, color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}},
		{render.Viridis, color.RGBA{0x44, 0x01, 0x54, 255}, color.RGBA{0xfd, 0xe7, 0x25, 255}},
		{render.Inferno, color.RGBA{0x00, 0x00, 0x04, 255}, color.RGBA{0xfc, 0xff, 0xa4, 255}},
		{render.Coolwarm, color.RGBA{59, 76, 192, 255}, color.RGBA{180, 4, 38, 255}},
	} {
		if got := at(t, tc.cm, 0); got != tc.low {
			t.Errorf("%q at 0 = %v, want %v", tc.cm, got, tc.low)
		}
		if got := at(t, tc.cm, 1); got != tc.high {
			t.Errorf("%q at 1 = %v, want %v", tc.cm, got, tc.high)
		}
		// Out of range and NaN clamp to the ends.
		if got := at(t, tc.cm, -3); got != tc.low {
			t.Errorf("%q at -3 = %v, want %v", tc.cm, got, tc.low)
		}
		if got := at(t, tc.cm, math.NaN()); got != tc.low {
			t.Errorf("%q at NaN = %v, want %v", tc.cm, got, tc.low)
		}
		if got := at(t, tc.cm, 7); got != tc.high {
			t.Errorf("%q at 7 = %v, want %v", tc.cm, got, tc.high)
		}
	}
	if got := at(t, render.Gray, 0.5); got != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("gray at 0.5 = %v", got)
	}
	if _, err := render.Colormap("jet").At(0.5); !errors.Is(err, render.ErrOption) {
		t.Errorf("jet: err = %v, want ErrOption", err)
	}
}

func TestColormapLuminanceMonotonic(t *testing.T) {
	// Luminance must rise (gray, viridis, inferno), or rise to coolwarm's
	// grey centre and fall after it. At 256 steps one channel may stay on
	// its 8-bit level while another moves: luminance may wiggle by a
	// level's worth (under 0.002). At 32 steps every channel moves several
	// levels and the order must be strict.
	for _, cm := range []render.Colormap{render.Gray, render.Viridis, render.Inferno, render.Coolwarm} {
		for _, steps := range []struct {
			n   int
			tol float64
		}{{255, 0.002}, {32, 0}} {
			prev := luminance(at(t, cm, 0))
			for i := 1; i <= steps.n; i++ {
				x := float64(i) / float64(steps.n)
				y := luminance(at(t, cm, x))
				rising := y >= prev-steps.tol && (steps.tol > 0 || y > prev)
				falling := y <= prev+steps.tol && (steps.tol > 0 || y < prev)
				if cm == render.Coolwarm && x > 0.5 && !falling || (cm != render.Coolwarm || x <= 0.5) && !rising {
					t.Fatalf("%s: luminance %.5f → %.5f at t = %d/%d", cm, prev, y, i, steps.n)
				}
				prev = y
			}
		}
		if lo, hi := luminance(at(t, cm, 0)), luminance(at(t, cm, 1)); cm != render.Coolwarm && hi-lo < 0.7 {
			t.Errorf("%s: luminance spans only %.3f..%.3f", cm, lo, hi)
		}
	}
}

func TestDivergingCentre(t *testing.T) {
	// One channel, 1×4: zero must land on coolwarm's neutral grey, the
	// larger magnitude on an end, the other sign proportionally.
	sal := []float32{0, 2, -1, -2}
	img, err := render.Map(sal, 1, 1, 4, render.Options{Sign: render.All, Colormap: render.Coolwarm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []color.RGBA{{221, 221, 221, 255}, {180, 4, 38, 255}, {141, 176, 254, 255}, {59, 76, 192, 255}}
	for x, w := range want {
		if got := rgbaAt(img, x, 0); got != w {
			t.Errorf("pixel %d (value %v) = %v, want %v", x, sal[x], got, w)
		}
	}
	// The RGB colormap with All puts zero at mid-grey in every channel.
	rgb := []float32{0, 4, 0, -4, 0, 2}
	img, err = render.Map(rgb, 3, 1, 2, render.Options{Colormap: render.RGB}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rgbaAt(img, 0, 0), (color.RGBA{128, 128, 128, 255}); got != want {
		t.Errorf("rgb pixel 0 = %v, want %v", got, want)
	}
	if got, want := rgbaAt(img, 1, 0), (color.RGBA{255, 0, 191, 255}); got != want {
		t.Errorf("rgb pixel 1 = %v, want %v", got, want)
	}
}

func TestOverlay(t *testing.T) {
	sal := []float32{0, 1, 2, 3} // 1×2×2, Positive gray → 0, 85, 170, 255
	input := image.NewRGBA(image.Rect(10, 20, 12, 22))
	for i := range input.Pix {
		input.Pix[i] = 100
	}
	alone, err := render.Map(sal, 1, 2, 2, render.Options{Sign: render.Positive}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := []uint8{alone.Pix[0], alone.Pix[4], alone.Pix[8], alone.Pix[12]}; !bytes.Equal(got, []uint8{0, 85, 170, 255}) {
		t.Fatalf("map alone: %v", got)
	}
	// Weight 0 ignores the input; weight 1 shows the map unchanged.
	for _, a := range []float64{0, 1} {
		img, err := render.Map(sal, 1, 2, 2, render.Options{Sign: render.Positive, Overlay: a}, input)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(img.Pix, alone.Pix) {
			t.Errorf("overlay %v: %v, want %v", a, img.Pix, alone.Pix)
		}
	}
	// 0.25: (0.75·100 + 0.25·v) rounded.
	img, err := render.Map(sal, 1, 2, 2, render.Options{Sign: render.Positive, Overlay: 0.25}, input)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []uint8{img.Pix[0], img.Pix[4], img.Pix[8], img.Pix[12], img.Pix[15]}, []uint8{75, 96, 118, 139, 255}; !bytes.Equal(got, want) {
		t.Errorf("overlay 0.25: %v, want %v", got, want)
	}
}

func TestPixels(t *testing.T) {
	// Every level survives the round trip, in each channel.
	const n = 256
	src := make([]float32, 3*n)
	for i := range n {
		src[i], src[n+i], src[2*n+i] = float32(i), float32(255-i), float32((i*7)%256)
	}
	img, err := render.Pixels(src, 3, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		want := color.RGBA{uint8(i), uint8(255 - i), uint8((i * 7) % 256), 255}
		if got := rgbaAt(img, i%16, i/16); got != want {
			t.Fatalf("pixel %d = %v, want %v", i, got, want)
		}
	}
	// One channel is grey; values round to nearest and clamp.
	img, err = render.Pixels([]float32{1.4, 1.6, -20, 300}, 1, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	for x, v := range []uint8{1, 2, 0, 255} {
		if got, want := rgbaAt(img, x, 0), (color.RGBA{v, v, v, 255}); got != want {
			t.Errorf("grey pixel %d = %v, want %v", x, got, want)
		}
	}
}

func TestScale(t *testing.T) {
	src := image.NewRGBA(image.Rect(5, 5, 7, 6)) // 2×1, not at the origin
	src.SetRGBA(5, 5, color.RGBA{1, 2, 3, 255})
	src.SetRGBA(6, 5, color.RGBA{4, 5, 6, 255})
	img := render.Scale(src, 3)
	if img.Bounds() != image.Rect(0, 0, 6, 3) {
		t.Fatalf("bounds %v", img.Bounds())
	}
	for y := range 3 {
		for x := range 6 {
			want := color.RGBA{1, 2, 3, 255}
			if x >= 3 {
				want = color.RGBA{4, 5, 6, 255}
			}
			if got := rgbaAt(img, x, y); got != want {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// nonWhite counts the pixels of r that are not white.
func nonWhite(img *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if rgbaAt(img, x, y) != (color.RGBA{255, 255, 255, 255}) {
				n++
			}
		}
	}
	return n
}

func TestGrid(t *testing.T) {
	red := solid(4, 4, color.RGBA{255, 0, 0, 255})
	rows := [][]render.Cell{
		{{Image: red, Label: "a"}, {Image: red, Label: "b"}, {Image: red}},
		{{Image: red}, {Image: red}, {Image: red}},
	}
	img, err := render.Grid(rows, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Columns 12 wide, gaps 4: 4+3·(12+4) = 52. Row 0: 12 + 2+13 label
	// band; row 1 has no labels: 4 + (27+4) + (12+4) = 51.
	if got := img.Bounds(); got != image.Rect(0, 0, 52, 51) {
		t.Fatalf("bounds %v, want 52×51", got)
	}
	if got := rgbaAt(img, 4, 4); got != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("first image corner = %v", got)
	}
	if got := rgbaAt(img, 3, 4); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("margin = %v", got)
	}
	band := func(col int) image.Rectangle { // under row 0's images
		x := 4 + col*16
		return image.Rect(x, 4+12+2, x+12, 4+12+2+13)
	}
	for col, want := range []bool{true, true, false} {
		if n := nonWhite(img, band(col)); (n > 0) != want {
			t.Errorf("label band of column %d has %d dark pixels", col, n)
		}
	}
	if n := nonWhite(img, image.Rect(0, 35, 52, 51)) - 3*12*12; n != 0 {
		t.Errorf("row 1 has %d pixels that are neither image nor background", n)
	}

	// A header adds a line; a long label widens its column; nil images and
	// ragged rows are blank.
	rows = [][]render.Cell{{{Image: red, Label: "guided backprop"}}, {{}, {Image: red}}}
	img, err = render.Grid(rows, 1, []string{"x", "gradient"})
	if err != nil {
		t.Fatal(err)
	}
	// Widths: max(4, 15·7) = 105 and max(4, 8·7) = 56: 4+105+4+56+4 = 173.
	// Heights: 4 + (13+4) + (4+2+13+4) + (4+4) = 52.
	if got := img.Bounds(); got != image.Rect(0, 0, 173, 52) {
		t.Fatalf("bounds %v, want 173×52", got)
	}
	if n := nonWhite(img, image.Rect(4+105+4, 4, 173-4, 4+13)); n == 0 {
		t.Error("header of column 1 is blank")
	}
	if _, err := render.Grid(rows, 0, nil); !errors.Is(err, render.ErrOption) {
		t.Errorf("scale 0: err = %v, want ErrOption", err)
	}
}

func TestErrors(t *testing.T) {
	good := make([]float32, 12)
	nan := append([]float32(nil), good...)
	nan[5] = float32(math.NaN())
	inf := append([]float32(nil), good...)
	inf[0] = float32(math.Inf(-1))
	in := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for _, tc := range []struct {
		name string
		err  error
		run  func() error
	}{
		{"map short", render.ErrShape, func() error {
			_, err := render.Map(good[:11], 3, 2, 2, render.Options{}, nil)
			return err
		}},
		{"map zero channels", render.ErrShape, func() error { _, err := render.Map(nil, 0, 2, 2, render.Options{}, nil); return err }},
		{"map NaN", render.ErrValue, func() error { _, err := render.Map(nan, 3, 2, 2, render.Options{}, nil); return err }},
		{"map Inf", render.ErrValue, func() error { _, err := render.Map(inf, 3, 2, 2, render.Options{}, nil); return err }},
		{"map NaN rgb", render.ErrValue, func() error {
			_, err := render.Map(nan, 3, 2, 2, render.Options{Colormap: render.RGB}, nil)
			return err
		}},
		{"rgb two channels", render.ErrShape, func() error {
			_, err := render.Map(good[:8], 2, 2, 2, render.Options{Colormap: render.RGB}, nil)
			return err
		}},
		{"unknown colormap", render.ErrOption, func() error {
			_, err := render.Map(good, 3, 2, 2, render.Options{Colormap: "jet"}, nil)
			return err
		}},
		{"unknown reduction", render.ErrOption, func() error {
			_, err := render.Map(good, 3, 2, 2, render.Options{Reduce: 7}, nil)
			return err
		}},
		{"unknown sign", render.ErrOption, func() error { _, err := render.Normalize(good, -1, 0); return err }},
		{"clip 101", render.ErrOption, func() error { _, err := render.Normalize(good, render.All, 101); return err }},
		{"clip NaN", render.ErrOption, func() error { _, err := render.Normalize(good, render.All, math.NaN()); return err }},
		{"normalize NaN", render.ErrValue, func() error { _, err := render.Normalize(nan, render.All, 0); return err }},
		{"overlay no input", render.ErrOption, func() error {
			_, err := render.Map(good, 3, 2, 2, render.Options{Overlay: 0.5}, nil)
			return err
		}},
		{"overlay 1.5", render.ErrOption, func() error {
			_, err := render.Map(good, 3, 2, 2, render.Options{Overlay: 1.5}, in)
			return err
		}},
		{"overlay size", render.ErrShape, func() error {
			_, err := render.Map(good[:3], 3, 1, 1, render.Options{Overlay: 0.5}, in)
			return err
		}},
		{"reduce length", render.ErrShape, func() error { _, err := render.Reduce(good, 3, 2, 3, render.Sum); return err }},
		{"reduce NaN", render.ErrValue, func() error { _, err := render.Reduce(nan, 3, 2, 2, render.Max); return err }},
		{"colorize length", render.ErrShape, func() error { _, err := render.Colorize(good, 2, 2, render.Gray); return err }},
		{"colorize NaN", render.ErrValue, func() error { _, err := render.Colorize(nan, 3, 4, render.Gray); return err }},
		{"pixels two channels", render.ErrShape, func() error { _, err := render.Pixels(good[:8], 2, 2, 2); return err }},
		{"pixels length", render.ErrShape, func() error { _, err := render.Pixels(good, 3, 2, 3); return err }},
		{"pixels NaN", render.ErrValue, func() error { _, err := render.Pixels(nan, 3, 2, 2); return err }},
	} {
		if err := tc.run(); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
}

// synthetic returns a 3×h×w signed map (a ring that is positive in red,
// negative in blue) and a matching input image.
func synthetic(h, w int) ([]float32, *image.RGBA) {
	sal := make([]float32, 3*h*w)
	in := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := float64(x)-float64(w)/2, float64(y)-float64(h)/2
			r := math.Hypot(dx, dy) / float64(min(h, w)) * 2
			ring := math.Exp(-(r - 0.6) * (r - 0.6) / 0.01)
			i := y*w + x
			sal[i] = float32(ring * dx / float64(w))
			sal[h*w+i] = float32(0.3 * ring * math.Sin(float64(x)/3))
			sal[2*h*w+i] = float32(-ring * dy / float64(h))
			in.SetRGBA(x, y, color.RGBA{uint8(4 * x), uint8(4 * y), 160, 255})
		}
	}
	sal[h*w/2+w/2] = 50 // one outlier, for Clip to remove
	return sal, in
}

// TestPNG renders a labelled grid and checks it survives PNG encoding.
// To look at it: RENDER_SAMPLE=/tmp/render-sample.png go test -run PNG
func TestPNG(t *testing.T) {
	const h, w = 48, 48
	sal, in := synthetic(h, w)
	var rows [][]render.Cell
	for _, clip := range []float64{99.5, 0} {
		row := []render.Cell{{Image: in, Label: fmt.Sprintf("clip %v", clip)}}
		for _, o := range []render.Options{
			{Sign: render.All, Colormap: render.Coolwarm},
			{Sign: render.Absolute, Reduce: render.MaxAbs, Colormap: render.Inferno},
			{Sign: render.All, Colormap: render.RGB},
			{Sign: render.Positive, Colormap: render.Viridis, Overlay: 0.6},
		} {
			o.Clip = clip
			img, err := render.Map(sal, 3, h, w, o, in)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, render.Cell{Image: img})
		}
		rows = append(rows, row)
	}
	grid, err := render.Grid(rows, 2, []string{"input", "coolwarm all", "inferno |v|", "rgb all", "viridis pos 0.6"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := writePNG(path, grid); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("RENDER_SAMPLE"); p != "" {
		if err := writePNG(p, grid); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != grid.Bounds() {
		t.Fatalf("decoded bounds %v, want %v", back.Bounds(), grid.Bounds())
	}
	for y := range grid.Bounds().Dy() {
		for x := range grid.Bounds().Dx() {
			if got, want := color.RGBAModel.Convert(back.At(x, y)), grid.At(x, y); got != want {
				t.Fatalf("(%d,%d): decoded %v, want %v", x, y, got, want)
			}
		}
	}
}

func writePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
