package preprocess

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPlace(t *testing.T) {
	// A 2-channel 2×3 image: values 1…12.
	img := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	t.Run("canvas", func(t *testing.T) {
		out := make([]float32, 2*3*5)
		for i := range out {
			out[i] = -1 // stale values must be cleared
		}
		Place(img, out, 2, 2, 3, 3, 5)
		// Top-left corner at ((3−2)/2, (5−3)/2) = (0, 1).
		want := []float32{
			0, 1, 2, 3, 0,
			0, 4, 5, 6, 0,
			0, 0, 0, 0, 0,
			0, 7, 8, 9, 0,
			0, 10, 11, 12, 0,
			0, 0, 0, 0, 0,
		}
		if !slices.Equal(out, want) {
			t.Errorf("got %v\nwant %v", out, want)
		}
	})
	t.Run("crop", func(t *testing.T) {
		out := make([]float32, 2*1*2)
		Place(img, out, 2, 2, 3, 1, 2)
		// Window from ((2−1)/2, (3−2)/2) = (0, 0).
		if want := []float32{1, 2, 7, 8}; !slices.Equal(out, want) {
			t.Errorf("got %v, want %v", out, want)
		}
		big := make([]float32, 5*5)
		for i := range big {
			big[i] = float32(i)
		}
		out = make([]float32, 2*2)
		Place(big, out, 1, 5, 5, 2, 2) // from (1, 1)
		if want := []float32{6, 7, 11, 12}; !slices.Equal(out, want) {
			t.Errorf("5×5 → 2×2: got %v, want %v", out, want)
		}
	})
	t.Run("same", func(t *testing.T) {
		out := make([]float32, len(img))
		Place(img, out, 2, 2, 3, 2, 3)
		if !slices.Equal(out, img) {
			t.Errorf("got %v, want a copy", out)
		}
	})
	t.Run("mixed panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic for an image wider and shorter than the input")
			}
		}()
		Place(img, make([]float32, 2*1*4), 2, 2, 3, 1, 4)
	})
}

func TestValidatePlace(t *testing.T) {
	ch := Params{Kind: Channel, Mean: []float32{0.5}, Std: []float32{0.25}}
	with := func(place string, size [2]int) Params {
		p := ch
		p.Place, p.Size = place, size
		return p
	}
	zca := Params{Kind: GCNZCA, GCNScale: 55, ZCAMean: make([]float32, 16), ZCA: make([]float32, 256), Place: PlaceCanvas, Size: [2]int{2, 2}}
	tests := []struct {
		name string
		p    Params
		want string // "" for valid
	}{
		{"old file", with("", [2]int{}), ""},
		{"resize", with(PlaceResize, [2]int{}), ""},
		{"resize with the input's size", with(PlaceResize, [2]int{4, 4}), ""},
		{"resize with another size", with(PlaceResize, [2]int{2, 2}), "resampled to the input"},
		{"canvas", with(PlaceCanvas, [2]int{2, 3}), ""},
		{"canvas larger than the input", with(PlaceCanvas, [2]int{5, 2}), "does not fit"},
		{"canvas without a size", with(PlaceCanvas, [2]int{}), "size 0×0"},
		{"crop", with(PlaceCrop, [2]int{8, 4}), ""},
		{"crop smaller than the input", with(PlaceCrop, [2]int{8, 3}), "smaller than"},
		{"negative size", with(PlaceCrop, [2]int{-8, 8}), "size -8×8"},
		{"huge size", with(PlaceCrop, [2]int{1 << 20, 1 << 20}), "size"},
		{"unknown", with("stretch", [2]int{}), `unknown placement "stretch"`},
		{"ZCA on a canvas", zca, "ZCA"},
	}
	for _, c := range tests {
		err := c.p.Validate(1, 4, 4)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrParams) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want ErrParams with %q", c.name, err, c.want)
		}
	}
}

// TestInput checks the whole path, image to net input, against its steps
// done by hand: FromRGBA to the source size, Apply, Place.
func TestInput(t *testing.T) {
	norm := Params{Kind: Channel, Mean: []float32{0.4, 0.5, 0.6}, Std: []float32{0.2, 0.25, 0.3}}
	w, h := 12, 9
	rgba := rgbaOf(w, h, [3]byte{0, 3, 7}, func(x, y int) byte { return byte(17*x + 5*y) })
	tests := []struct {
		place string
		size  [2]int
		in    [3]int
	}{
		{"", [2]int{}, [3]int{3, 6, 6}},
		{PlaceResize, [2]int{}, [3]int{3, 6, 8}},
		{PlaceCanvas, [2]int{4, 4}, [3]int{3, 7, 10}},
		{PlaceCrop, [2]int{8, 8}, [3]int{3, 5, 6}},
		{PlaceCanvas, [2]int{4, 4}, [3]int{1, 6, 6}},
	}
	for _, c := range tests {
		p := norm
		p.Place, p.Size = c.place, c.size
		if c.in[0] == 1 {
			p.Mean, p.Std = p.Mean[:1], p.Std[:1]
		}
		if err := p.Validate(c.in[0], c.in[1], c.in[2]); err != nil {
			t.Fatalf("%s: %v", c.place, err)
		}
		sh, sw := c.in[1], c.in[2]
		if c.size != [2]int{} {
			sh, sw = c.size[0], c.size[1]
		}
		src, err := FromRGBA(rgba, w, h, c.in[0], sh, sw)
		if err != nil {
			t.Fatal(err)
		}
		normed := make([]float32, len(src))
		p.Apply(src, normed, nil, c.in[0])
		want := make([]float32, c.in[0]*c.in[1]*c.in[2])
		Place(normed, want, c.in[0], sh, sw, c.in[1], c.in[2])
		wantPx := make([]float32, len(want))
		Place(src, wantPx, c.in[0], sh, sw, c.in[1], c.in[2])

		got, err := p.Input(rgba, w, h, c.in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s %v: Input: %v\ngot  %v\nwant %v", c.place, c.in, err, got, want)
		}
		px, err := p.Pixels(rgba, w, h, c.in)
		if err != nil || !slices.Equal(px, wantPx) {
			t.Errorf("%s %v: Pixels: %v\ngot  %v\nwant %v", c.place, c.in, err, px, wantPx)
		}

		// The same image as a data set holds it: planes of whole levels,
		// at its own size (resampled on the way) and at the source size
		// (straight through).
		planes := make([]float32, 3*w*h)
		for i := range w * h {
			for k := range 3 {
				planes[k*w*h+i] = float32(rgba[4*i+k])
			}
		}
		out := make([]float32, len(want))
		if err := p.InputFromPixels(planes, 3, h, w, c.in, out); err != nil || !slices.Equal(out, want) {
			t.Errorf("%s %v: InputFromPixels of the whole image: %v\ngot  %v\nwant %v", c.place, c.in, err, out, want)
		}
		if err := p.InputFromPixels(src, c.in[0], sh, sw, c.in, out); err != nil || !slices.Equal(out, want) {
			t.Errorf("%s %v: InputFromPixels at the source size: %v\ngot  %v\nwant %v", c.place, c.in, err, out, want)
		}
		if err := p.PixelsFromPixels(src, c.in[0], sh, sw, c.in, out); err != nil || !slices.Equal(out, wantPx) {
			t.Errorf("%s %v: PixelsFromPixels: %v", c.place, c.in, err)
		}
	}
}

func TestInputCanvasIsZeroOutside(t *testing.T) {
	p := Params{Kind: Channel, Mean: []float32{0.1, 0.2, 0.3}, Std: []float32{0.5, 0.5, 0.5}, Place: PlaceCanvas, Size: [2]int{2, 2}}
	rgba := rgbaOf(2, 2, [3]byte{}, func(x, y int) byte { return 255 })
	x, err := p.Input(rgba, 2, 2, [3]int{3, 4, 4})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		for y := range 4 {
			for xx := range 4 {
				v := x[(k*4+y)*4+xx]
				inside := y >= 1 && y < 3 && xx >= 1 && xx < 3
				want := float32(0)
				if inside {
					want = (1 - p.Mean[k]) / p.Std[k]
				}
				if v != want {
					t.Errorf("channel %d (%d, %d): %v, want %v", k, y, xx, v, want)
				}
			}
		}
	}
}

func TestInputFromPixelsErrors(t *testing.T) {
	p := Params{Kind: None}
	in := [3]int{3, 4, 4}
	if err := p.InputFromPixels(make([]float32, 5), 3, 2, 2, in, make([]float32, 48)); !errors.Is(err, ErrImage) {
		t.Errorf("short image: %v", err)
	}
	if err := p.InputFromPixels(make([]float32, 12), 3, 2, 2, in, make([]float32, 47)); !errors.Is(err, ErrImage) {
		t.Errorf("short output: %v", err)
	}
}
