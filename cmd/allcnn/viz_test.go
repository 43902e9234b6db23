package main

import (
	"bytes"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cellPixels returns the RGBA bytes of the size×size image of cell (row,
// col) of a grid whose cells are all size wide and tall, labelled, under a
// header line.
func cellPixels(img image.Image, row, col, size int) []byte {
	return pixelsAt(img, 4+col*(size+4), 4+13+4+row*(size+4+2+13), size, size)
}

// pixelsAt returns the RGB bytes of the w×h rectangle of img at (x0, y0).
func pixelsAt(img image.Image, x0, y0, w, h int) []byte {
	var b []byte
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			b = append(b, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return b
}

func TestViz(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	imgs := []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "b.jpg")}
	writeImage(t, imgs[0], 32, 32, 1)
	writeImage(t, imgs[1], 40, 30, 2)
	const size = 8 * 32 // -scale 8: wider than every label
	viz := func(name string, args ...string) image.Image {
		t.Helper()
		out := filepath.Join(dir, name)
		args = append(append([]string{"viz", "-model", model, "-scale", "8"}, args...), append(imgs, "-o", out)...)
		if _, e, code := runCmd(t, args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, e)
		}
		return readPNG(t, out)
	}
	checkSize := func(img image.Image, cols int) {
		t.Helper()
		w, h := gridSize(slices.Repeat([]int{size}, cols), []int{size, size}, true)
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("%v, want %d×%d for 2 rows × %d columns", b, w, h, cols)
		}
	}

	// A row per image: the input, then gradient, deconvnet, guided, each
	// different from the others.
	plain := viz("plain.png")
	checkSize(plain, 4)
	for r := range 2 {
		for a := 1; a <= 3; a++ {
			for b := a + 1; b <= 3; b++ {
				if bytes.Equal(cellPixels(plain, r, a, size), cellPixels(plain, r, b, size)) {
					t.Errorf("row %d: columns %d and %d are the same map", r, a, b)
				}
			}
		}
	}
	// -switches adds the methods on the switched net; the plain columns
	// stay: an all-conv net has no pools for the switch rule to change.
	sw := viz("sw.png", "-switches")
	checkSize(sw, 7)
	for c := 1; c <= 3; c++ {
		if !bytes.Equal(cellPixels(plain, 0, c, size), cellPixels(sw, 0, c, size)) {
			t.Errorf("-switches changed column %d", c)
		}
		if bytes.Equal(cellPixels(sw, 0, c, size), cellPixels(sw, 0, c+3, size)) {
			t.Errorf("column %d equals its switched column", c)
		}
	}

	// Other targets and renderings.
	for _, c := range []struct {
		args []string
		cols int
	}{
		{[]string{"-layer", "conv3"}, 4},
		{[]string{"-layer", "conv6", "-unit", "2", "-at", "1,1", "-switches"}, 7},
		{[]string{"-layer", "conv2", "-at", "0,5"}, 4},
		{[]string{"-pooled"}, 4},
		{[]string{"-class", "cat", "-method", "guided"}, 2},
		{[]string{"-class", "3", "-method", "gradient, deconvnet", "-colormap", "viridis", "-sign", "absolute", "-overlay", "0.5", "-clip", "0"}, 3},
		{[]string{"-method", "smoothgrad,integrated", "-samples", "3", "-steps", "4", "-baseline", "blur", "-rule", "guided"}, 3},
		{[]string{"-method", "gradcam", "-cam-layer", "conv5", "-layer", "conv6"}, 2},
	} {
		checkSize(viz("t.png", c.args...), c.cols)
	}
	// Every method, each map its own.
	every := viz("every.png", "-method", "every", "-samples", "2", "-steps", "4", "-window", "4", "-stride", "4")
	checkSize(every, 11)
	for a := 1; a <= 10; a++ {
		for b := a + 1; b <= 10; b++ {
			if bytes.Equal(cellPixels(every, 0, a, size), cellPixels(every, 0, b, size)) {
				t.Errorf("-method every: columns %d and %d are the same map", a, b)
			}
		}
	}

	bad := filepath.Join(dir, "bad.png")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-layer", "nope"}, 2, `no layer "nope"`},
		{[]string{"-method", "saliency"}, 2, "-method"},
		{[]string{"-method", "integrated", "-baseline", "noise"}, 2, "-baseline"},
		{[]string{"-method", "smoothgrad", "-rule", "smooth"}, 2, "-rule"},
		{[]string{"-method", "smoothgrad", "-samples", "0"}, 2, "-samples"},
		{[]string{"-method", "gradcam", "-cam-layer", "nope"}, 1, "nope"},
		{[]string{"-layer", "conv3", "-unit", "99"}, 2, "-unit 99"},
		{[]string{"-layer", "conv6", "-at", "9,0"}, 2, "-at 9,0"},
		{[]string{"-layer", "conv6", "-at", "9"}, 2, "-at"},
		{[]string{"-unit", "3"}, 2, "need -layer"},
		{[]string{"-class", "cat", "-pooled"}, 2, "give one"},
		{[]string{"-class", "zebra"}, 2, "zebra"},
		{[]string{"-colormap", "jet"}, 2, "jet"},
		{[]string{"-sign", "both"}, 2, "both"},
		{[]string{"-overlay", "2"}, 2, "-overlay"},
		{[]string{"-o", ""}, 2, "-o"},
		{[]string{bad}, 1, "bad.png"},
	} {
		args := append(append([]string{"viz", "-model", model}, imgs...), "-o", filepath.Join(dir, "x.png"))
		_, e, code := runCmd(t, append(args, c.args...)...)
		if code != c.code || !strings.Contains(e, c.msg) {
			t.Errorf("%q: exit %d, want %d with %q: %s", c.args, code, c.code, c.msg, e)
		}
	}
}

// On a net with max-pools (Model C, Fig. 6) -switches compares the pool
// rules: the plain columns spread evenly, the +sw columns follow the
// switches, which is what the plain columns do without -switches.
func TestVizModelCSwitches(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "c.msgpack")
	if _, e, code := runCmd(t, "init", "-arch", "model-c", "-width", "0.125", "-o", model); code != 0 {
		t.Fatal(e)
	}
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 32, 32, 3)
	var pngs []image.Image
	for _, sw := range []string{"-switches=false", "-switches"} {
		out := filepath.Join(dir, "m.png")
		if _, e, code := runCmd(t, "viz", "-model", model, "-scale", "8", "-method", "gradient,guided", sw, img, "-o", out); code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		pngs = append(pngs, readPNG(t, out))
	}
	size := 8 * 32
	for c := 1; c <= 2; c++ {
		if bytes.Equal(cellPixels(pngs[1], 0, c, size), cellPixels(pngs[1], 0, c+2, size)) {
			t.Errorf("column %d: no switches equals switches", c)
		}
		if !bytes.Equal(cellPixels(pngs[0], 0, c, size), cellPixels(pngs[1], 0, c+2, size)) {
			t.Errorf("column %d without -switches differs from the +sw column", c)
		}
	}
}

func TestVizFilters(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir) // conv1, conv2, conv3: 12 channels each
	out := filepath.Join(dir, "f.png")
	for _, c := range []struct {
		units string
		colW  []int
	}{
		// Receptive fields: conv1 3, conv3 7; -scale 2 makes 14 the target,
		// so the 3×3 rows are enlarged 5 times (15 pixels), conv3 twice
		// (14). The first column holds the row names ("conv1 weights": 91
		// pixels); units the layers lack leave blank cells under their
		// header (two digits: 14 pixels).
		{"0-3", []int{91, 15, 15, 15, 15}},
		{"10-13", []int{91, 15, 15, 14, 14}},
	} {
		_, e, code := runCmd(t, "viz", "filters", "-model", model, "-layers", "conv1,conv3", "-units", c.units, "-scale", "2", "-clip", "0", "-o", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		img := readPNG(t, out)
		w, h := gridSize(c.colW, []int{15, 15, 14}, true)
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("-units %s: %v, want %d×%d", c.units, b, w, h)
		}
		// A conv1 unit's pattern is its filter (kernel.Net.Pattern), so the
		// first two rows match when neither is clipped.
		for col := 1; col < len(c.colW); col++ {
			x0 := 4 + 91 + 4 + (col-1)*(15+4)
			for y := range 15 {
				for x := range 15 {
					top, next := img.At(x0+x, 4+17+y), img.At(x0+x, 4+17+15+4+15+y)
					if top != next {
						t.Fatalf("-units %s: column %d: conv1's filter and pattern differ at (%d,%d)", c.units, col, x, y)
					}
				}
			}
		}
	}
	for _, args := range [][]string{{"-layers", "conv1,nope"}, {"-units", "x"}, {"-scale", "0"}, {"extra"}} {
		if _, e, code := runCmd(t, append([]string{"viz", "filters", "-model", model, "-o", out}, args...)...); code != 2 {
			t.Errorf("%q: exit %d: %s", args, code, e)
		}
	}
}

func TestVizTopPatches(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	data := filepath.Join(dir, "data")
	for i := range 6 {
		writeImage(t, filepath.Join(data, []string{"cat", "dog"}[i%2], fmt.Sprintf("%d.png", i)), 32, 32, uint64(i))
	}
	out := filepath.Join(dir, "p.png")
	run := func(args ...string) (string, string, int) {
		return runCmd(t, append([]string{"viz", "top-patches", "-model", model, "-data", "folder:" + data, "-o", out}, args...)...)
	}
	// The units of the global average pool see the whole 32×32 image: a
	// row per unit of its name (42 pixels), then, as in the paper's Fig. 3,
	// 2 deconvnet reconstructions, 2 guided ones and 2 patches, under a
	// header naming the groups.
	grids := map[string]image.Image{}
	for _, method := range []string{"", "deconvnet", "guided"} {
		args := []string{"-layer", "gap", "-units", "0-2", "-k", "2", "-scale", "2", "-batch", "4"}
		if method != "" {
			args = append(args, "-method", method)
		}
		if _, e, code := run(args...); code != 0 {
			t.Fatalf("-method %q: exit %d: %s", method, code, e)
		}
		grids[method] = readPNG(t, out)
	}
	cols := func(groups int) []int { return append([]int{42}, slices.Repeat([]int{64}, 2*groups)...) }
	w, h := gridSize(cols(3), []int{64, 64, 64}, true)
	if b := grids[""].Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("%v, want %d×%d: 2 deconvnet, 2 guided and 2 patch columns", b, w, h)
	}
	w, h = gridSize(cols(2), []int{64, 64, 64}, true)
	if b := grids["guided"].Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("-method guided: %v, want %d×%d: 2 guided and 2 patch columns", b, w, h)
	}
	cell := func(img image.Image, row, col int) []byte { // col 0: the first after the unit's name
		return pixelsAt(img, 4+42+4+col*(64+4), 4+13+4+row*(64+4+2+13), 64, 64)
	}
	for r := range 3 {
		for i := range 2 {
			deconv, guided := cell(grids[""], r, i), cell(grids[""], r, 2+i)
			if bytes.Equal(deconv, guided) {
				t.Errorf("unit %d, image %d: the deconvnet and guided reconstructions are the same", r, i)
			}
			// Each group is its method's map, and the patches follow.
			if !bytes.Equal(deconv, cell(grids["deconvnet"], r, i)) {
				t.Errorf("unit %d, image %d: the deconvnet column differs from -method deconvnet's", r, i)
			}
			if !bytes.Equal(guided, cell(grids["guided"], r, i)) {
				t.Errorf("unit %d, image %d: the guided column differs from -method guided's", r, i)
			}
			if !bytes.Equal(cell(grids[""], r, 4+i), cell(grids["guided"], r, 2+i)) {
				t.Errorf("unit %d, image %d: the patch differs from -method guided's", r, i)
			}
		}
	}
	// A conv layer: patches cropped to receptive fields (7×7 at most for
	// conv3); more patches asked for than images; units it lacks skipped.
	o, e, code := run("-layer", "conv3", "-units", "0,11-20", "-k", "10", "-limit", "5")
	if code != 0 || !strings.Contains(o, "2 units × 10 patches from 5 images") {
		t.Fatalf("exit %d: %s%s", code, o, e)
	}
	if b := readPNG(t, out).Bounds(); b.Dy() != 4+13+4+2*(4*7+4+2+13) {
		t.Fatalf("%v: want a header and 2 rows of 7×7 patches drawn 4 times", b)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"-units", "0"}, 2},
		{[]string{"-layer", "nope"}, 2},
		{[]string{"-layer", "conv3", "-units", "50-60"}, 2},
		{[]string{"-layer", "conv3", "-k", "0"}, 2},
		{[]string{"-layer", "conv3", "-method", "saliency"}, 2},
		{[]string{"-layer", "conv3", "-data", "folder:" + filepath.Join(dir, "none")}, 1},
	} {
		if _, e, code := run(c.args...); code != c.code {
			t.Errorf("%q: exit %d, want %d: %s", c.args, code, c.code, e)
		}
	}
}

// The heap keeps the k strongest activations, and of equal ones the
// earliest image.
func TestHits(t *testing.T) {
	var h hits
	for i, v := range []float32{1, 5, 3, 5, 2, 7, 5, 0} {
		h.offer(hit{v: v, img: i}, 3)
	}
	var got []string
	for _, e := range h.sorted() {
		got = append(got, fmt.Sprintf("%v@%d", e.v, e.img))
	}
	if want := []string{"7@5", "5@1", "5@3"}; !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}

// In the net with switches a stride-2 conv's units are those of the pool
// after it: the +sw map of conv6's unit at (7,7), the bottom-right corner
// of its 8×8 map, must reach the image's bottom-right corner, as the plain
// map does. (The stride-1 conv's (7,7) would sit near the image's centre.)
func TestVizSwitchedUnitSamePlace(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	img, out := filepath.Join(dir, "a.png"), filepath.Join(dir, "o.png")
	writeImage(t, img, 32, 32, 4)
	if _, e, code := runCmd(t, "viz", "-model", model, "-scale", "8", "-method", "deconvnet", "-layer", "conv6", "-unit", "0", "-at", "7,7", "-switches", img, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	png := readPNG(t, out)
	for col := 1; col <= 2; col++ {
		px := cellPixels(png, 0, col, 8*32)
		reached := false
		for i := 0; i < len(px); i += 3 {
			y, x := i/3/(8*32)/8, i/3%(8*32)/8 // input pixel
			if y >= 26 && x >= 26 && (px[i] != 128 || px[i+1] != 128 || px[i+2] != 128) {
				reached = true
			}
		}
		if !reached {
			t.Errorf("column %d: the map of conv6 (7,7) is zero in the image's bottom-right corner", col)
		}
	}
}

// Every new command explains itself on -help (exit 0) and refuses an empty
// command line (exit 2).
func TestNewCommandsHelp(t *testing.T) {
	for _, c := range []struct {
		cmd  []string
		text string
	}{
		{[]string{"predict"}, "softmax"}, {[]string{"eval"}, "top-5 error"}, {[]string{"viz"}, "guided backpropagation"},
		{[]string{"viz", "filters"}, "Fig. 2"}, {[]string{"viz", "top-patches"}, "Fig. 3"},
		{[]string{"viz", "sanity"}, "Adebayo"},
	} {
		if _, e, code := runCmd(t, append(c.cmd, "-help")...); code != 0 || !strings.Contains(e, c.text) {
			t.Errorf("%q -help: exit %d: %s", c.cmd, code, e)
		}
		if _, _, code := runCmd(t, c.cmd...); code != 2 {
			t.Errorf("%q: exit %d, want 2", c.cmd, code)
		}
	}
	if _, e, code := runCmd(t, "help", "viz"); code != 0 || !strings.Contains(e, "viz top-patches") {
		t.Errorf("help viz: exit %d: %s", code, e)
	}
}
