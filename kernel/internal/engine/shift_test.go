package engine

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// TestShiftMatchesDirect compares Shift's forward pass and input gradient
// with a direct float64 convolution for every padding of a 3×3 kernel, odd
// and even maps, batches of one and more, and one to three goroutines; each
// example of a batch must come out bit for bit as it does alone, and
// weights changed in place between calls must be seen.
func TestShiftMatchesDirect(t *testing.T) {
	t.Parallel()
	cases := []struct{ n, c, o, h, w int }{
		{1, 32, 24, 8, 8},
		{3, 40, 13, 6, 7},
		{2, 33, 30, 5, 5},
		{1, 64, 1, 3, 4},
	}
	for _, c := range cases {
		for pad := range 3 {
			r := refConv{n: c.n, c: c.c, h: c.h, w: c.w, o: c.o, pad: pad, oh: c.h + 2*pad - 2, ow: c.w + 2*pad - 2}
			rng := newRNG(uint64(c.n*1000 + c.c*10 + pad))
			x := randTensor(rng, 1, c.n, c.c, c.h, c.w)
			weight := randTensor(rng, 1, c.o*c.c*9).Data
			bias := randTensor(rng, 1, c.o).Data
			for threads := 1; threads <= 3; threads++ {
				name := fmt.Sprintf("n%d-c%d-o%d-%dx%d-pad%d/threads%d", c.n, c.c, c.o, c.h, c.w, pad, threads)
				e := New(Config{Threads: threads})
				s := e.NewShift(c.c, c.o, 3, pad)
				w := slices.Clone(weight)
				for _, scale := range []float32{1, -2} {
					// The second round changes the weights in place.
					for i := range w {
						w[i] = weight[i] * scale
					}
					want := r.forward(x, w, bias)
					dy := randTensor(rng, 1, c.n, c.o, r.oh, r.ow)
					wantDx, _, _ := r.backward(x, dy, w)
					dx := newTensor(x.Shape...)
					s.BackwardData(dy.Data, c.n, c.h, c.w, w, dx.Data, nil)
					if abs, rel := relErr(dx.Data, wantDx); rel > 1e-6 {
						t.Errorf("%s scale %g: input gradient: max abs error %.3g, relative %.3g", name, scale, abs, rel)
					}
					for j := range c.n {
						one := newTensor(1, c.c, c.h, c.w)
						s.BackwardData(dy.Example(j), 1, c.h, c.w, w, one.Data, nil)
						if !slices.Equal(one.Data, dx.Example(j)) {
							t.Errorf("%s scale %g: input gradient of example %d alone differs from its row of the batch", name, scale, j)
						}
					}
					for _, rectify := range []bool{false, true} {
						y := newTensor(c.n, c.o, r.oh, r.ow)
						s.Forward(x.Data, c.n, c.h, c.w, w, bias, rectify, y.Data)
						wantR := slices.Clone(want)
						if rectify {
							for i, v := range wantR {
								wantR[i] = math.Max(v, 0)
							}
						}
						if abs, rel := relErr(y.Data, wantR); rel > 1e-6 {
							t.Errorf("%s scale %g rectify %v: max abs error %.3g, relative %.3g", name, scale, rectify, abs, rel)
						}
						for j := range c.n {
							one := newTensor(1, c.o, r.oh, r.ow)
							s.Forward(x.Example(j), 1, c.h, c.w, w, bias, rectify, one.Data)
							if !slices.Equal(one.Data, y.Example(j)) {
								t.Errorf("%s scale %g: example %d alone differs from its row of the batch", name, scale, j)
							}
						}
					}
				}
			}
		}
	}
}

func TestShiftPays(t *testing.T) {
	for _, c := range []struct {
		inC, k, s, pad, oh, ow, w int
		want                      bool
	}{
		{192, 3, 1, 0, 6, 6, 8, true},    // All-CNN-C's conv7
		{192, 3, 2, 1, 8, 8, 16, false},  // strided
		{192, 1, 1, 0, 6, 6, 6, false},   // 1×1: no lowering to save
		{3, 3, 1, 1, 8, 8, 8, false},     // shallow taps
		{96, 3, 1, 1, 32, 32, 32, false}, // a large map
		{192, 3, 1, 1, 2, 2, 2, false},   // most columns dropped
		{64, 3, 1, 1, 8, 8, 8, true},     // 8 of 10 columns kept
		{64, 5, 1, 2, 8, 8, 8, false},    // 8 of 12
	} {
		if got := ShiftPays(c.inC, c.k, c.s, c.pad, c.oh, c.ow, c.w); got != c.want {
			t.Errorf("ShiftPays(%+v) = %v, want %v", c, got, c.want)
		}
	}
}
