// Package testimage makes the hostile and unusual image files that the
// tests of several packages feed their loaders. It is imported by tests only.
package testimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"testing"
)

// DeclaredPNG is a PNG whose header declares w×h 8-bit RGB pixels, followed
// by the start of a zlib stream and no pixels: enough for image.Decode to
// allocate the whole image before finding out the data is missing.
func DeclaredPNG(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		start := len(b)
		b = append(append(b, typ...), data...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0)) // 8 bits, RGB, deflate, no filter, no interlace
	chunk("IDAT", []byte{0x78, 0x9c})          // a zlib header, then nothing
	chunk("IEND", nil)
	return b
}

// CMYKJPEG is a w×h Adobe CMYK JPEG (APP14 transform 0, inverted as Adobe
// writes it) of the flat colour rgb: its C, M, Y planes hold the stored
// values r, g, b and its K plane 255 (no black ink), so that it decodes to
// rgb. image/jpeg writes no CMYK, so each plane is a gray JPEG's scan,
// written as a non-interleaved scan of its own.
func CMYKJPEG(t testing.TB, w, h int, rgb [3]uint8) []byte {
	t.Helper()
	var tables []byte // the gray JPEG's DQT and DHT segments, the same for every plane
	var scans [4][]byte
	for p, v := range [4]uint8{rgb[0], rgb[1], rgb[2], 255} {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = v
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: 100}); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		tables = tables[:0]
		for i := 2; i+4 <= len(b); {
			marker, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
			if marker == 0xda { // SOS: the entropy-coded data runs to EOI
				scans[p] = b[i+2+n : len(b)-2]
				break
			}
			if marker == 0xdb || marker == 0xc4 {
				tables = append(tables, b[i:i+2+n]...)
			}
			i += 2 + n
		}
	}
	out := []byte{0xff, 0xd8}
	out = append(out, 0xff, 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0)
	out = append(out, tables...)
	out = append(out, 0xff, 0xc0, 0, 8+3*4, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 4)
	for c := range 4 {
		out = append(out, byte(c+1), 0x11, 0)
	}
	for c, scan := range scans {
		out = append(out, 0xff, 0xda, 0, 8, 1, byte(c+1), 0x00, 0, 63, 0)
		out = append(out, scan...)
	}
	return append(out, 0xff, 0xd9)
}
