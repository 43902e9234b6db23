package preprocess

import (
	"errors"
	"math"
	"testing"
)

func TestValidate(t *testing.T) {
	zca := func(d int) Params {
		return Params{Kind: GCNZCA, GCNScale: 55, ZCAMean: make([]float32, d), ZCA: make([]float32, d*d)}
	}
	for _, c := range []struct {
		name string
		p    Params
		ok   bool
	}{
		{"empty kind", Params{}, true},
		{"none", Params{Kind: None}, true},
		{"channel", Params{Kind: Channel, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.2, 0.2, 0.2}}, true},
		{"channel count", Params{Kind: Channel, Mean: []float32{0.5}, Std: []float32{0.2}}, false},
		{"zero deviation", Params{Kind: Channel, Mean: []float32{0, 0, 0}, Std: []float32{1, 0, 1}}, false},
		{"NaN mean", Params{Kind: Channel, Mean: []float32{0, float32(math.NaN()), 0}, Std: []float32{1, 1, 1}}, false},
		{"zca", zca(12), true},
		{"zca size", zca(11), false},
		{"zca scale", Params{Kind: GCNZCA, ZCAMean: make([]float32, 12), ZCA: make([]float32, 144)}, false},
		{"unknown", Params{Kind: "pca"}, false},
	} {
		err := c.p.Validate(3, 2, 2)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrParams)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestApply(t *testing.T) {
	img := []float32{0, 51, 255, 102} // 2 channels of 1×2
	out := make([]float32, 4)
	for _, c := range []struct {
		name string
		p    Params
		want []float32
	}{
		{"none", Params{Kind: None}, []float32{0, 0.2, 1, 0.4}},
		{"channel", Params{Kind: Channel, Mean: []float32{0.1, 0.5}, Std: []float32{0.5, 0.25}},
			[]float32{-0.2, 0.2, 2, -0.4}},
		// GCN of (0, .2, 1, .4): mean .4, deviations (−.4, −.2, .6, 0),
		// norm √.56; with scale √.56 it is the deviations. Then subtract
		// the mean (.1, 0, 0, 0) and multiply by a symmetric matrix.
		{"gcn-zca", Params{Kind: GCNZCA, GCNScale: float32(math.Sqrt(0.56)), ZCAMean: []float32{0.1, 0, 0, 0},
			ZCA: []float32{
				1, 0, 0, 0,
				0, 2, 0, 1,
				0, 0, 1, 0,
				0, 1, 0, 3,
			}}, []float32{-0.5, -0.4, 0.6, -0.2}},
	} {
		c.p.Apply(img, out, make([]float32, 4), 2)
		for i := range out {
			if math.Abs(float64(out[i]-c.want[i])) > 1e-6 {
				t.Errorf("%s: got %v, want %v", c.name, out, c.want)
				break
			}
		}
	}
}

func TestGCN(t *testing.T) {
	out := make([]float32, 6)
	GCN([]float32{10, 20, 30, 40, 50, 250}, out, 55)
	var sum, ss float64
	for _, v := range out {
		sum += float64(v)
		ss += float64(v) * float64(v)
	}
	if math.Abs(sum) > 1e-4 || math.Abs(math.Sqrt(ss)-55) > 1e-4 {
		t.Errorf("GCN: sum %g, norm %g; want 0 and 55", sum, math.Sqrt(ss))
	}
	// A flat image has nothing to normalize: its norm is below the
	// minimum divisor, so it maps to (rounding noise around) zero, not NaN.
	GCN([]float32{7, 7, 7, 7, 7, 7}, out, 55)
	for _, v := range out {
		if !(math.Abs(float64(v)) < 1e-6) {
			t.Fatalf("flat image: %v", out)
		}
	}
}
