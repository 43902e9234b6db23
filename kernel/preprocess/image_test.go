package preprocess

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// rgbaOf builds a w×h RGBA image whose pixel (x, y) is px(x, y) in all
// three colour channels plus off[k] for channel k, with alpha 7 (ignored).
func rgbaOf(w, h int, off [3]byte, px func(x, y int) byte) []byte {
	b := make([]byte, 4*w*h)
	for y := range h {
		for x := range w {
			v := px(x, y)
			i := 4 * (y*w + x)
			b[i], b[i+1], b[i+2], b[i+3] = v+off[0], v+off[1], v+off[2], 7
		}
	}
	return b
}

func TestFromRGBA(t *testing.T) {
	// Channel offsets 0, 1, 2 check the plane order R, G, B.
	off := [3]byte{0, 1, 2}
	planes := func(p ...float32) []float32 {
		var out []float32
		for k := range 3 {
			for _, v := range p {
				out = append(out, v+float32(off[k]))
			}
		}
		return out
	}
	tests := []struct {
		name       string
		w, h       int
		px         func(x, y int) byte
		outH, outW int
		want       []float32 // R, G, B planes
	}{
		{"identity", 3, 2, func(x, y int) byte { return byte(10*y + x) }, 2, 3,
			planes(0, 1, 2, 10, 11, 12)},
		{"2× downscale averages 2×2 blocks", 4, 4, func(x, y int) byte { return byte(16*y + 4*x) }, 2, 2,
			// block (0,0): 0,4,16,20 → 10; (1,0): 8,12,24,28 → 18; +32 per block row
			planes(10, 18, 42, 50)},
		{"3× downscale of a row", 6, 3, func(x, y int) byte { return byte(3 * x) }, 1, 2,
			planes(3, 12)},
		{"wide image crops the centre", 6, 2, func(x, y int) byte { return byte(10*y + x) }, 2, 2,
			planes(2, 3, 12, 13)},
		{"tall image crops the centre", 2, 6, func(x, y int) byte { return byte(10*y + x) }, 2, 2,
			planes(20, 21, 30, 31)},
		{"odd crop takes half of each border pixel", 5, 2, func(x, y int) byte { return byte(10*y + 2*x) }, 2, 2,
			// window [1.5, 3.5): (2+4)/2, (4+6)/2
			planes(3, 5, 13, 15)},
		{"bilinear 2× enlargement", 2, 1, func(x, y int) byte { return byte(100 * x) }, 2, 4,
			// centres at −0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
			planes(0, 25, 75, 100, 0, 25, 75, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromRGBA(rgbaOf(tt.w, tt.h, off, tt.px), tt.w, tt.h, 3, tt.outH, tt.outW)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestFromRGBALuminance(t *testing.T) {
	// Grey pixels keep their value; pure red, green, blue weigh 0.299,
	// 0.587, 0.114.
	img := []byte{
		200, 200, 200, 0, 255, 0, 0, 0,
		0, 255, 0, 0, 0, 0, 255, 0,
	}
	got, err := FromRGBA(img, 2, 2, 1, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{200, 0.299 * 255, 0.587 * 255, 0.114 * 255}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4 {
			t.Errorf("pixel %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// A constant image stays constant at any size: the weights of every output
// pixel sum to 1.
func TestFromRGBAConstant(t *testing.T) {
	for _, sz := range [][4]int{{7, 5, 3, 3}, {5, 7, 32, 32}, {33, 31, 32, 32}, {1, 1, 4, 6}, {640, 480, 32, 32}, {3, 300, 7, 2}} {
		w, h, oh, ow := sz[0], sz[1], sz[2], sz[3]
		got, err := FromRGBA(rgbaOf(w, h, [3]byte{0, 50, 100}, func(x, y int) byte { return 77 }), w, h, 3, oh, ow)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			want := 77 + 50*float64(i/(oh*ow))
			if math.Abs(float64(v)-want) > 1e-4 {
				t.Fatalf("%d×%d → %d×%d: value %d is %v, want %v", w, h, ow, oh, i, v, want)
			}
		}
	}
}

func TestFromRGBAErrors(t *testing.T) {
	ok := make([]byte, 4*3*2)
	tests := []struct {
		name                string
		b                   []byte
		w, h, c, outH, outW int
	}{
		{"short", ok[:23], 3, 2, 3, 4, 4},
		{"long", append(ok, 0, 0, 0, 0), 3, 2, 3, 4, 4},
		{"zero width", ok, 0, 2, 3, 4, 4},
		{"negative height", ok, 3, -2, 3, 4, 4},
		{"zero output", ok, 3, 2, 3, 0, 4},
		{"two channels", ok, 3, 2, 2, 4, 4},
		{"overflowing size", ok, 1 << 40, 1 << 40, 3, 4, 4},
		{"huge output", ok, 3, 2, 3, 1 << 20, 1 << 20},
	}
	for _, tt := range tests {
		if _, err := FromRGBA(tt.b, tt.w, tt.h, tt.c, tt.outH, tt.outW); !errors.Is(err, ErrImage) {
			t.Errorf("%s: err = %v, want ErrImage", tt.name, err)
		}
	}
}
