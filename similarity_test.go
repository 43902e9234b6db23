package allcnn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSpearman: values worked out by hand, ties at their mean rank.
func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b []float64
		want float64
	}{
		// Ranks of a: 1, 2.5, 2.5, 4; of b: 1, 3, 2, 4; both have mean
		// 2.5, deviations (−1.5, 0, 0, 1.5) and (−1.5, 0.5, −0.5, 1.5):
		// 4.5 / √(4.5·5) = √0.9.
		{"ties", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}, math.Sqrt(0.9)},
		// Ranks 1, 2, 3 against 2, 3, 1: deviations (−1, 0, 1) and
		// (0, 1, −1): −1 / √(2·2).
		{"three", []float64{10, 20, 30}, []float64{0.5, 0.9, -4}, -0.5},
		{"monotone", []float64{1, 2, 3, 4, 5}, []float64{1, 8, 27, 64, 125}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{9, 7, 5, -1}, -1},
		// Ranks of b: 1.5, 1.5, 3.5, 3.5; a: 1..4. Deviations (−1.5, −0.5,
		// 0.5, 1.5) and (−1, −1, 1, 1): 4 / √(5·4) = 2/√5.
		{"ties in b", []float64{1, 2, 3, 4}, []float64{0, 0, 7, 7}, 2 / math.Sqrt(5)},
		{"constant", []float64{1, 2, 3}, []float64{4, 4, 4}, 0},
		{"one value", []float64{1}, []float64{2}, 0},
	} {
		if got := Spearman(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Spearman = %v, want %v", c.name, got, c.want)
		}
	}
}

// testMap is an h×w map in [0, 1] with structure at every scale: a
// smooth blob plus a stripe pattern.
func testMap(h, w int) []float64 {
	m := make([]float64, h*w)
	for y := range h {
		for x := range w {
			dy, dx := float64(y-h/3), float64(x-w/2)
			m[y*w+x] = 0.7*math.Exp(-(dy*dy+dx*dx)/40) + 0.3*float64((x/3+y/5)%2)
		}
	}
	return m
}

// TestSSIM: equal maps give 1; a map against its negation (scaled to
// [0, 1], 1 − m) or against noise gives little; a slightly brightened map
// keeps most; constant maps give the luminance term alone.
func TestSSIM(t *testing.T) {
	for _, size := range [][2]int{{32, 32}, {20, 13}, {8, 8}} {
		h, w := size[0], size[1]
		m := testMap(h, w)
		neg, noise, bright := make([]float64, h*w), make([]float64, h*w), make([]float64, h*w)
		rng := rand.New(rand.NewPCG(1, 2))
		for i, v := range m {
			neg[i] = 1 - v
			noise[i] = rng.Float64()
			bright[i] = 0.05 + 0.9*v
		}
		if got := SSIM(m, m, h, w); math.Abs(got-1) > 1e-12 {
			t.Errorf("%d×%d: SSIM(m, m) = %v, want 1", h, w, got)
		}
		if got := SSIM(m, neg, h, w); got > 0 {
			t.Errorf("%d×%d: SSIM(m, 1−m) = %v, want ≤ 0", h, w, got)
		}
		if got := SSIM(m, noise, h, w); math.Abs(got) > 0.2 {
			t.Errorf("%d×%d: SSIM(m, noise) = %v, want about 0", h, w, got)
		}
		if got := SSIM(m, bright, h, w); got < 0.9 {
			t.Errorf("%d×%d: SSIM(m, 0.05+0.9m) = %v, want > 0.9", h, w, got)
		}
	}
	// Constant maps 0.5 and 0.7: no variance, so SSIM is the luminance
	// term (2·0.5·0.7 + C1) / (0.5² + 0.7² + C1) at every window.
	a, b := make([]float64, 144), make([]float64, 144)
	for i := range a {
		a[i], b[i] = 0.5, 0.7
	}
	const c1 = 0.01 * 0.01
	if got, want := SSIM(a, b, 12, 12), (0.7+c1)/(0.74+c1); math.Abs(got-want) > 1e-12 {
		t.Errorf("constant maps: SSIM = %v, want %v", got, want)
	}
}
