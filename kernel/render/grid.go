package render

import (
	"fmt"
	"image"
	"unicode/utf8"

	"golang.org/x/image/font/basicfont"
)

// Cell is one entry of a Grid.
type Cell struct {
	// Image is drawn scaled; nil leaves the cell blank.
	Image image.Image
	// Label is one line drawn under the image. The font has the printable
	// ASCII characters; any other rune is drawn as a replacement box.
	Label string
}

// Grid layout, in pixels. The label font is basicfont.Face7x13: 7 pixels
// per character, 13 per line.
const (
	gridPad  = 4  // margin around the grid and gap between cells
	labelGap = 2  // between an image and its label
	lineH    = 13 // height of a line of text
)

var face = basicfont.Face7x13

// Grid lays cells out on a white background, for example rows = images and
// columns = methods (gradient, deconvnet, guided). Each image is enlarged
// scale times by nearest neighbour and centred in its column; its label is
// centred under it. header, if not empty, names the columns above the first
// row. Rows may be ragged.
//
// Layout: a margin and gap of 4 pixels; a column is as wide as its widest
// scaled image, label or header (7 pixels a character); a row is as tall
// as its tallest scaled image, plus 2+13 pixels when any of its cells has
// a label; the header line adds 13+4 pixels at the top.
//
// Grid fails with ErrOption if scale < 1.
func Grid(rows [][]Cell, scale int, header []string) (*image.RGBA, error) {
	if scale < 1 {
		return nil, fmt.Errorf("render: grid scale %d: %w", scale, ErrOption)
	}
	ncol := len(header)
	for _, r := range rows {
		ncol = max(ncol, len(r))
	}
	colW := make([]int, ncol)
	hasHeader := false
	for j, s := range header {
		colW[j] = textWidth(s)
		hasHeader = hasHeader || s != ""
	}
	rowH := make([]int, len(rows))
	rowLabel := make([]bool, len(rows))
	for i, r := range rows {
		for j, cell := range r {
			if cell.Image != nil {
				b := cell.Image.Bounds()
				colW[j] = max(colW[j], scale*b.Dx())
				rowH[i] = max(rowH[i], scale*b.Dy())
			}
			colW[j] = max(colW[j], textWidth(cell.Label))
			rowLabel[i] = rowLabel[i] || cell.Label != ""
		}
	}
	colX := make([]int, ncol)
	width := gridPad
	for j, cw := range colW {
		colX[j] = width
		width += cw + gridPad
	}
	height := gridPad
	if hasHeader {
		height += lineH + gridPad
	}
	for i := range rows {
		height += rowH[i] + gridPad
		if rowLabel[i] {
			height += labelGap + lineH
		}
	}

	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	y := gridPad
	if hasHeader {
		for j, s := range header {
			drawText(img, s, colX[j]+(colW[j]-textWidth(s))/2, y)
		}
		y += lineH + gridPad
	}
	for i, r := range rows {
		for j, cell := range r {
			if cell.Image != nil {
				m := Scale(cell.Image, scale)
				x0 := colX[j] + (colW[j]-m.Rect.Dx())/2
				for r := range m.Rect.Dy() {
					copy(img.Pix[img.PixOffset(x0, y+r):], m.Pix[r*m.Stride:(r+1)*m.Stride])
				}
			}
			if cell.Label != "" {
				drawText(img, cell.Label, colX[j]+(colW[j]-textWidth(cell.Label))/2, y+rowH[i]+labelGap)
			}
		}
		y += rowH[i] + gridPad
		if rowLabel[i] {
			y += labelGap + lineH
		}
	}
	return img, nil
}

func textWidth(s string) int { return face.Advance * utf8.RuneCountInString(s) }

// drawText draws s in black with its line box's top-left corner at (x, y),
// reading glyphs from face.Mask as basicfont.Range documents. (Drawing
// through font.Drawer would link image/draw: 100 KB more wasm.)
func drawText(dst *image.RGBA, s string, x, y int) {
	h := face.Ascent + face.Descent
	for _, r := range s {
		g := glyphRow(r) * h
		for gy := range h {
			for gx := range face.Width {
				a, _, _, _ := face.Mask.At(gx, g+gy).RGBA() // alpha image: a in [0, 0xffff]
				if a == 0 || !(image.Point{x + gx, y + gy}.In(dst.Rect)) {
					continue
				}
				p := dst.Pix[dst.PixOffset(x+gx, y+gy):]
				for k := range 3 {
					p[k] = uint8(uint32(p[k]) * (0xffff - a) / 0xffff)
				}
			}
		}
		x += face.Advance
	}
}

// glyphRow is the index of r's glyph in face.Mask; runes the font lacks
// use U+FFFD's.
func glyphRow(r rune) int {
	for _, want := range []rune{r, '\ufffd'} {
		for _, rng := range face.Ranges {
			if rng.Low <= want && want < rng.High {
				return int(want-rng.Low) + rng.Offset
			}
		}
	}
	return 0
}
