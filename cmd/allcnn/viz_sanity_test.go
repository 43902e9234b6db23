package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVizSanity: the table's rows and columns, the JSON report, the plot's
// layout and the usage errors. (Whether the numbers mean anything is
// allcnn's TestSanityChecksTrained.)
func TestVizSanity(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	data := filepath.Join(dir, "data")
	for i := range 4 {
		writeImage(t, filepath.Join(data, []string{"cat", "dog"}[i%2], fmt.Sprintf("%d.png", i)), 32, 32, uint64(i))
	}
	plot := filepath.Join(dir, "sanity.png")
	run := func(args ...string) (string, string, int) {
		return runCmd(t, append([]string{"viz", "sanity", "-model", model, "-data", "folder:" + data, "-n", "2", "-method", "gradient,gradcam"}, args...)...)
	}
	layers := []string{"conv9", "conv8", "conv7", "conv6", "conv5", "conv4", "conv3", "conv2", "conv1"}

	chart := filepath.Join(dir, "chart.png")
	o, e, code := run("-o", plot, "-chart", chart)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var cascade, independent []string
	section := &cascade
	for _, line := range strings.Split(o, "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "independent"):
			section = &independent
		case len(f) == 3 && f[0] == "step":
			if f[1] != "gradient" || f[2] != "gradcam" {
				t.Errorf("header %q, want the columns gradient and gradcam", line)
			}
		case len(f) == 3 && strings.Count(f[1], "/") == 1:
			*section = append(*section, f[0])
			if f[0] == "trained" && (f[1] != "1.00/1.00" || f[2] != "1.00/1.00") {
				t.Errorf("trained row %q, want 1.00/1.00 for both methods", line)
			}
		}
	}
	want := []string{"trained", "conv9", "conv9+conv8"}
	for _, l := range layers[2:] {
		want = append(want, "conv9+...+"+l)
	}
	if !slices.Equal(cascade, want) || !slices.Equal(independent, layers) {
		t.Errorf("rows: cascade %v, independent %v; want %v and %v\n%s", cascade, independent, want, layers, o)
	}
	if !strings.Contains(e, "sanity: 18/18 randomized nets: conv1") {
		t.Errorf("no progress on stderr: %q", e)
	}
	// A row per cascade step, 64 pixels tall (32×32 maps at -scale 2),
	// labelled; the label column is as wide as "conv9+...+conv1".
	img := readPNG(t, plot)
	w, h := gridSize([]int{7 * len("conv9+...+conv1"), 64, 64}, slices.Repeat([]int{64}, len(want)), true)
	if b := img.Bounds(); b.Dy() != h || b.Dx() < w {
		t.Errorf("plot %v, want %d high and at least %d wide", b, h, w)
	}

	// The chart: 12×9 inches at 96 dpi, with a coloured line per method
	// (plotutil's palette; the axes, grid and text are gray).
	c := readPNG(t, chart)
	if b := c.Bounds(); b.Dx() != 1152 || b.Dy() != 864 {
		t.Errorf("chart %v, want 1152×864", b)
	}
	colours := map[[3]uint32]int{}
	for y := c.Bounds().Min.Y; y < c.Bounds().Max.Y; y++ {
		for x := c.Bounds().Min.X; x < c.Bounds().Max.X; x++ {
			r, g, b, _ := c.At(x, y).RGBA()
			if r != g || g != b {
				colours[[3]uint32{r >> 8, g >> 8, b >> 8}]++
			}
		}
	}
	lines := 0
	for _, n := range colours {
		if n > 200 { // a line's colour, not an antialiased edge's
			lines++
		}
	}
	if lines < 2 {
		t.Errorf("chart: %d colours drawn in more than 200 pixels, want a line per method (2)", lines)
	}

	o, e, code = run("-json")
	if code != 0 {
		t.Fatalf("-json: exit %d: %s", code, e)
	}
	var r sanityReport
	if err := json.Unmarshal([]byte(o), &r); err != nil {
		t.Fatalf("-json: %v\n%s", err, o)
	}
	if r.Images != 2 || len(r.Targets) != 2 || !slices.Equal(r.Methods, []string{"gradient", "gradcam"}) || len(r.Cascade) != 10 || len(r.Independent) != 9 {
		t.Fatalf("-json: %d images, targets %v, methods %v, %d cascade and %d independent steps", r.Images, r.Targets, r.Methods, len(r.Cascade), len(r.Independent))
	}
	if c := r.Cascade[0].Scores["gradient"]; c != (sanityScoreJSON{1, 1, 1}) || len(r.Cascade[0].Randomized) != 0 {
		t.Errorf("-json: trained %+v, randomized %v", c, r.Cascade[0].Randomized)
	}
	if got := r.Cascade[2].Randomized; !slices.Equal(got, layers[:2]) {
		t.Errorf("-json: the second step randomizes %v, want %v", got, layers[:2])
	}

	for _, args := range [][]string{{"-data", ""}, {"-n", "0"}, {"-method", "lrp"}, {"-init", "orthogonal"}, {"extra"}} {
		if _, e, code := run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, e)
		}
	}
}
