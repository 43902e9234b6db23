package allcnn

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// TestSaliencyCopies computes the maps that average copies of the image in
// shares, as the browser's workers do, and checks that the combined map is
// Saliency's (to float rounding: a copy's last bits depend on the size of
// the batch it runs in) and is drawn as SaliencyRGBA draws it.
func TestSaliencyCopies(t *testing.T) {
	m, _ := tinyModel(t)
	img := randomRGBA(8, 8, 5)
	x, err := m.Input(img, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []string{
		"method=smoothgrad&samples=7&seed=3",
		"method=smoothgrad2&samples=5&rule=guided&noise=0.2",
		"method=vargrad&samples=6&switches=true",
		"method=integrated&steps=9&baseline=blur",
		"method=smoothgrad&samples=4&layer=conv2&unit=1&at=1,2",
	} {
		req, err := ParseRequest(opts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Saliency(x, req)
		if err != nil {
			t.Fatalf("%s: %v", opts, err)
		}
		wantRGBA, err := m.SaliencyRGBA(img, 8, 8, req)
		if err != nil {
			t.Fatal(err)
		}
		method, _ := req.method()
		copies := method.Copies()
		for _, shares := range [][]int{{copies}, {1, copies - 1}, {2, 1, copies - 3}} {
			var maps []float32
			first := 0
			for _, count := range shares {
				s, err := m.SaliencyCopies(x, req, first, count)
				if err != nil {
					t.Fatalf("%s, copies [%d, %d): %v", opts, first, first+count, err)
				}
				if len(s.Raw) != count*len(x) || s.Unit != want.Unit || s.At != want.At {
					t.Fatalf("%s, copies [%d, %d): %d values for unit %d at %v, want %d for %d at %v", opts, first, first+count, len(s.Raw), s.Unit, s.At, count*len(x), want.Unit, want.At)
				}
				maps = append(maps, s.Raw...)
				first += count
			}
			// The combining call gets the unit resolved, as the parts
			// returned it.
			named := req
			named.Unit, named.At = want.Unit, &want.At
			got, err := m.CombineSaliency(x, named, maps)
			if err != nil {
				t.Fatalf("%s, shares %v: %v", opts, shares, err)
			}
			if got.Unit != want.Unit || got.At != want.At {
				t.Errorf("%s, shares %v: unit %d at %v, want %d at %v", opts, shares, got.Unit, got.At, want.Unit, want.At)
			}
			scale := 0.0
			for _, v := range want.Raw {
				scale = max(scale, math.Abs(float64(v)))
			}
			for i := range want.Raw {
				if d := math.Abs(float64(got.Raw[i] - want.Raw[i])); d > 1e-5*scale {
					t.Fatalf("%s, shares %v: map[%d] = %g, Saliency's %g", opts, shares, i, got.Raw[i], want.Raw[i])
				}
			}
			if len(shares) == 1 {
				drawn, err := m.CombineSaliencyRGBA(img, 8, 8, named, maps)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(drawn.Image, wantRGBA.Image) {
					t.Errorf("%s: CombineSaliencyRGBA draws another image than SaliencyRGBA", opts)
				}
			}
		}
	}
}

func TestSaliencyCopiesErrors(t *testing.T) {
	m, _ := tinyModel(t)
	x := randomInput(m.InputSize(), 4)
	req := func(q string) SaliencyRequest {
		r, err := ParseRequest(q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		req          SaliencyRequest
		first, count int
	}{
		{req("method=guided"), 0, 1},                // averages no copies
		{req("method=smoothgrad&samples=4"), 3, 2},  // past the last copy
		{req("method=smoothgrad&samples=4"), -1, 2}, // before the first
		{req("method=integrated&steps=4"), 0, 0},    // no copies
		{req("method=smoothgrad&unit=3"), 0, 1},     // no class 3
	} {
		if _, err := m.SaliencyCopies(x, c.req, c.first, c.count); err == nil {
			t.Errorf("%+v copies [%d, %d): no error", c.req, c.first, c.first+c.count)
		}
	}
	sg := req("method=smoothgrad&samples=4&unit=0")
	for _, n := range []int{0, 3 * len(x), 5 * len(x)} {
		_, err := m.CombineSaliency(x, sg, make([]float32, n))
		if !errors.Is(err, ErrRequest) {
			t.Errorf("%d values for 4 copies: err = %v, want ErrRequest", n, err)
		}
	}
	if _, err := m.CombineSaliency(x, req("method=gradcam"), nil); !errors.Is(err, ErrRequest) {
		t.Errorf("gradcam: err = %v, want ErrRequest", err)
	}
}
