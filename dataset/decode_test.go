package dataset

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"
)

// TestDecodeImageFastPaths: the pixels of each fast path (JPEG's YCbCr,
// grey, RGBA PNGs) are those of the generic conversion through
// color.NRGBAModel, alpha dropped, for every image kind the encoders
// write.
func TestDecodeImageFastPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const w, h = 13, 7
	src := image.NewNRGBA(image.Rect(0, 0, w, h))
	gray := image.NewGray(src.Rect)
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.IntN(256))
	}
	opaque := image.NewRGBA(src.Rect)
	for i := range opaque.Pix {
		opaque.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			opaque.Pix[i] = 255
		}
	}
	encode := map[string]func() []byte{
		"jpeg": func() []byte {
			var b bytes.Buffer
			jpeg.Encode(&b, opaque, &jpeg.Options{Quality: 90})
			return b.Bytes()
		},
		"png nrgba": func() []byte { var b bytes.Buffer; png.Encode(&b, src); return b.Bytes() },
		"png gray":  func() []byte { var b bytes.Buffer; png.Encode(&b, gray); return b.Bytes() },
		"png rgba":  func() []byte { var b bytes.Buffer; png.Encode(&b, opaque); return b.Bytes() },
	}
	for name, enc := range encode {
		data := enc()
		rgba, gw, gh, err := DecodeImage(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if gw != w || gh != h {
			t.Fatalf("%s: %d×%d, want %d×%d", name, gw, gh, w, h)
		}
		im, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(im.At(x, y)).(color.NRGBA)
				p := rgba[4*(y*w+x):]
				if p[0] != c.R || p[1] != c.G || p[2] != c.B || p[3] != 255 {
					t.Fatalf("%s: pixel (%d,%d) is %v, the generic conversion %v", name, x, y, p[:4], c)
				}
			}
		}
	}
	for _, bad := range [][]byte{nil, []byte("GIF89a"), encode["png rgba"]()[:40]} {
		if _, _, _, err := DecodeImage(bad); !errors.Is(err, ErrImage) {
			t.Errorf("%q…: %v, want ErrImage", bad[:min(len(bad), 8)], err)
		}
	}
}
