package render

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

var (
	// ErrShape is wrapped by errors about a length or size that does not
	// match the stated dimensions.
	ErrShape = errors.New("shape mismatch")
	// ErrValue is wrapped by errors about NaN or ±Inf in the data.
	ErrValue = errors.New("value not finite")
	// ErrOption is wrapped by errors about an option out of its range.
	ErrOption = errors.New("invalid option")
)

// Reduction says how Reduce collapses the channels of a map into one plane.
type Reduction int

const (
	// Sum adds the channels: out = Σ_c v_c. It is the zero value.
	Sum Reduction = iota
	// Max keeps the largest signed value: out = max_c v_c.
	Max
	// MaxAbs keeps the value with the largest magnitude, sign included;
	// on a tie (3 and −3) the lower channel wins.
	MaxAbs
)

// Sign says which part of a map Normalize keeps.
type Sign int

const (
	// All keeps the signed values; Normalize scales them symmetrically so
	// that 0 lands on t = 0.5, the centre of the colormap. It is the zero
	// value.
	All Sign = iota
	// Positive keeps max(v, 0).
	Positive
	// Negative keeps max(−v, 0): negative evidence, drawn as a magnitude.
	Negative
	// Absolute keeps |v|.
	Absolute
)

// checkShape reports whether n values fill c×h×w with positive dimensions.
func checkShape(what string, n, c, h, w int) error {
	if c < 1 || h < 1 || w < 1 || n != c*h*w {
		return fmt.Errorf("render: %s has %d values for %d×%d×%d: %w", what, n, c, h, w, ErrShape)
	}
	return nil
}

// checkFinite reports the first NaN or ±Inf in s.
func checkFinite(what string, s []float32) error {
	for i, v := range s {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("render: %s[%d] = %v: %w", what, i, v, ErrValue)
		}
	}
	return nil
}

// Reduce collapses the c channels of the c×h×w map sal into one h×w plane
// by r (see Sum, Max, MaxAbs). With c = 1 it returns a copy. It fails with
// ErrShape if len(sal) ≠ c·h·w, ErrValue on NaN or ±Inf, and ErrOption for
// an unknown r.
func Reduce(sal []float32, c, h, w int, r Reduction) ([]float32, error) {
	if err := checkShape("saliency", len(sal), c, h, w); err != nil {
		return nil, err
	}
	if r < Sum || r > MaxAbs {
		return nil, fmt.Errorf("render: reduction %d: %w", r, ErrOption)
	}
	if err := checkFinite("saliency", sal); err != nil {
		return nil, err
	}
	hw := h * w
	out := make([]float32, hw)
	for i := range out {
		if r == Sum {
			var s float64
			for ch := range c {
				s += float64(sal[ch*hw+i])
			}
			out[i] = float32(s)
			continue
		}
		best := sal[i]
		for ch := 1; ch < c; ch++ {
			v := sal[ch*hw+i]
			if r == Max && v > best || r == MaxAbs && abs32(v) > abs32(best) {
				best = v
			}
		}
		out[i] = best
	}
	return out, nil
}

// Normalize maps the values of m to t in [0,1], one image at a time:
//
//  1. Keep the part of m that sign selects (All, Positive, Negative,
//     Absolute).
//  2. If 0 < clip < 100, let p be the clip-th percentile of |v| (linear
//     interpolation between order statistics, numpy's default) and clamp
//     every v to [−p, p], so a few outliers do not wash out the rest. When
//     p is 0 — a map that is zero almost everywhere — nothing is clamped.
//     clip = 0 or 100 clamps nothing.
//  3. Scale. For All, t = 0.5 + 0.5·v/max|v|: zero is the colormap's centre
//     and the larger magnitude reaches an end; a map of zeros is all 0.5
//     (a constant c ≠ 0 is all at c's end).
//     For the other signs, min-max: t = (v − min)/(max − min); a constant
//     map is all 0, the colormap's low end.
//
// m can be any shape; for the RGB colormap Map passes all channels at once
// so they share one scale. Normalize fails with ErrValue on NaN or ±Inf and
// with ErrOption for an unknown sign or a clip outside [0,100].
func Normalize(m []float32, sign Sign, clip float64) ([]float32, error) {
	if sign < All || sign > Absolute {
		return nil, fmt.Errorf("render: sign %d: %w", sign, ErrOption)
	}
	if !(clip >= 0 && clip <= 100) {
		return nil, fmt.Errorf("render: clip percentile %v outside [0,100]: %w", clip, ErrOption)
	}
	if err := checkFinite("map", m); err != nil {
		return nil, err
	}
	out := make([]float32, len(m))
	for i, v := range m {
		switch sign {
		case All:
			out[i] = v
		case Positive:
			out[i] = max(v, 0)
		case Negative:
			out[i] = max(-v, 0)
		case Absolute:
			out[i] = abs32(v)
		}
	}
	if clip > 0 && clip < 100 && len(out) > 0 {
		if p := percentileAbs(out, clip); p > 0 {
			for i, v := range out {
				out[i] = min(max(v, -p), p)
			}
		}
	}
	if sign == All {
		var peak float64
		for _, v := range out {
			peak = max(peak, math.Abs(float64(v)))
		}
		for i, v := range out {
			if peak == 0 {
				out[i] = 0.5
			} else {
				out[i] = float32(0.5 + 0.5*float64(v)/peak)
			}
		}
		return out, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range out {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	for i, v := range out {
		if hi > lo {
			out[i] = float32((float64(v) - lo) / (hi - lo))
		} else {
			out[i] = 0
		}
	}
	return out, nil
}

// percentileAbs is the q-th percentile (0 < q < 100) of |v| over s, with
// linear interpolation between the closest ranks: position q/100·(n−1) in
// the sorted values, as numpy.percentile does by default.
func percentileAbs(s []float32, q float64) float32 {
	a := make([]float32, len(s))
	for i, v := range s {
		a[i] = abs32(v)
	}
	slices.Sort(a)
	pos := q / 100 * float64(len(a)-1)
	i := int(pos)
	if i+1 >= len(a) {
		return a[len(a)-1]
	}
	f := pos - float64(i)
	return float32(float64(a[i]) + f*(float64(a[i+1])-float64(a[i])))
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
