package kernel

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// splits are ways to share 7 copies (or path points) among workers: the
// counts of consecutive ranges.
var splits = [][]int{{7}, {3, 4}, {1, 1, 5}, {2, 2, 2, 1}, {1, 1, 1, 1, 1, 1, 1}}

// sharedMaps runs maps(first, count) for the consecutive ranges of split
// and concatenates the tensors, as a page concatenates its workers' parts.
func sharedMaps(t *testing.T, split []int, maps func(first, count int) (*Tensor, []Target, error)) (*Tensor, []Target) {
	t.Helper()
	var all *Tensor
	var used []Target
	first := 0
	for _, count := range split {
		m, u, err := maps(first, count)
		requireNoError(t, err)
		if all == nil {
			all, used = m, u
		} else {
			all = &Tensor{Shape: []int{all.N() + m.N(), m.C(), m.H(), m.W()}, Data: slices.Concat(all.Data, m.Data)}
			for i := range u {
				requireEqual(t, used[i].String(), u[i].String(), "target resolved by a later range")
			}
		}
		first += count
	}
	return all, used
}

// TestSmoothGradSplit: the maps of SmoothGrad's copies computed in
// consecutive ranges (as workers share them), reduced, are SmoothGrad's
// map: bit for bit when every copy runs alone (Batch 1, as SmoothGrad then
// runs it), and to float rounding with the default batches, whose size
// depends on the range. The noise of a copy does not depend on the range
// it is computed in.
func TestSmoothGradSplit(t *testing.T) {
	t.Parallel()
	n, x, _ := goldenNet(t)
	targets := []Target{{Channel: Strongest}, {Channel: Strongest}, {Channel: 2}}
	for _, stat := range []NoiseStat{SmoothMean, SmoothSquare, SmoothVar} {
		for _, batch := range []int{1, 0} {
			o := Noise{Samples: 7, Level: 0.2, Seed: 9, Stat: stat, Batch: batch}
			rule := Rule{ReLU: Guided}
			whole, want, err := n.SmoothGrad(x, targets, rule, o)
			requireNoError(t, err)
			for _, split := range splits {
				name := fmt.Sprintf("%s batch %d split %v", stat, batch, split)
				maps, used := sharedMaps(t, split, func(first, count int) (*Tensor, []Target, error) {
					return n.SmoothGradMaps(x, targets, rule, o, first, count)
				})
				for i := range want {
					requireEqual(t, want[i].String(), used[i].String(), name+": target")
				}
				got, err := ReduceSmoothGrad(maps, o)
				requireNoError(t, err)
				d := maxDiff(got.Data, whole.Data)
				if batch == 1 && d != 0 {
					t.Errorf("%s: differs from SmoothGrad by %g; want 0", name, d)
				}
				if d := relDiff(got.Data, whole.Data); d > 1e-5 {
					t.Errorf("%s: differs from SmoothGrad by %.3g (relative)", name, d)
				}
			}
		}
	}

	// A map of a later copy alone is that copy's map in the whole set.
	o := Noise{Samples: 7, Level: 0.2, Seed: 9, Batch: 1}
	all, _, err := n.SmoothGradMaps(x, targets, Rule{}, o, 0, 7)
	requireNoError(t, err)
	fifth, _, err := n.SmoothGradMaps(x, targets, Rule{}, o, 5, 1)
	requireNoError(t, err)
	if d := maxDiff(fifth.Data, all.Data[5*len(fifth.Data):6*len(fifth.Data)]); d != 0 {
		t.Errorf("copy 5 computed alone differs from copy 5 of all by %g", d)
	}
}

// TestIntegratedGradientsSplit: as TestSmoothGradSplit, for the points of
// integrated gradients' path.
func TestIntegratedGradientsSplit(t *testing.T) {
	t.Parallel()
	n, x, g := goldenNet(t)
	targets := make([]Target, len(g.Top))
	for i, c := range g.Top {
		targets[i] = Target{Channel: c}
	}
	for _, b := range []Baseline{BaselineZero, BaselineBlur} {
		for _, batch := range []int{1, 0} {
			o := Integration{Steps: 7, Baseline: b, Batch: batch}
			whole, _, err := n.IntegratedGradients(x, targets, o)
			requireNoError(t, err)
			for _, split := range splits {
				name := fmt.Sprintf("%s baseline batch %d split %v", b, batch, split)
				maps, _ := sharedMaps(t, split, func(first, count int) (*Tensor, []Target, error) {
					return n.IntegratedGradientsMaps(x, targets, o, first, count)
				})
				got, err := ReduceIntegratedGradients(x, maps, o)
				requireNoError(t, err)
				if d := maxDiff(got.Data, whole.Data); batch == 1 && d != 0 {
					t.Errorf("%s: differs from IntegratedGradients by %g; want 0", name, d)
				}
				if d := relDiff(got.Data, whole.Data); d > 1e-5 {
					t.Errorf("%s: differs from IntegratedGradients by %.3g (relative)", name, d)
				}
			}
		}
	}
}

// TestSplitErrors: ranges outside the copies or points, and maps of the
// wrong number, are errors.
func TestSplitErrors(t *testing.T) {
	n, x, _ := goldenNet(t)
	targets := []Target{{Channel: 0}, {Channel: 0}, {Channel: 0}}
	o := Noise{Samples: 4}
	for _, r := range [][2]int{{-1, 2}, {0, 0}, {3, 2}, {4, 1}} {
		if _, _, err := n.SmoothGradMaps(x, targets, Rule{}, o, r[0], r[1]); !errors.Is(err, ErrTarget) {
			t.Errorf("SmoothGrad copies %v of 4: error %v, want ErrTarget", r, err)
		}
		if _, _, err := n.IntegratedGradientsMaps(x, targets, Integration{Steps: 4}, r[0], r[1]); !errors.Is(err, ErrTarget) {
			t.Errorf("integrated gradients' points %v of 4: error %v, want ErrTarget", r, err)
		}
	}
	maps, _, err := n.SmoothGradMaps(x, targets, Rule{}, o, 0, 3)
	requireNoError(t, err)
	if _, err := ReduceSmoothGrad(maps, o); !errors.Is(err, ErrShape) {
		t.Errorf("3 copies' maps of 3 examples reduced as 4 copies: error %v, want ErrShape", err)
	}
	if _, err := ReduceIntegratedGradients(x, maps, Integration{Steps: 4}); !errors.Is(err, ErrShape) {
		t.Errorf("3 points' gradients of 3 examples reduced as 4 points: error %v, want ErrShape", err)
	}
}
