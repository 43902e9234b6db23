package allcnn

import (
	"math"
	"slices"
)

// The two similarity measures of Adebayo et al. 2018 ("Sanity Checks for
// Saliency Maps", Sec. 3) between a map of the trained net and the map of
// a randomized one, on maps of one value per pixel.

// Spearman is the Spearman rank correlation of a and b, which must have
// the same length: the Pearson correlation of their ranks, tied values
// sharing the mean of the ranks they span. It is 1 when b orders the
// pixels as a does, −1 when it reverses the order, and 0 for a map that
// is constant (it orders nothing) or shorter than 2. It panics if the
// lengths differ.
func Spearman(a, b []float64) float64 {
	if len(a) != len(b) {
		panic("allcnn: Spearman of maps of different lengths")
	}
	return pearson(ranks(a), ranks(b))
}

// ranks returns each value's rank in v, from 1, ties at their mean rank.
func ranks(v []float64) []float64 {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		switch {
		case v[i] < v[j]:
			return -1
		case v[i] > v[j]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(v))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && v[order[hi]] == v[order[lo]] {
			hi++
		}
		// Positions lo..hi-1 hold equal values: ranks lo+1..hi, mean (lo+1+hi)/2.
		mean := float64(lo+1+hi) / 2
		for _, i := range order[lo:hi] {
			r[i] = mean
		}
		lo = hi
	}
	return r
}

// pearson is the correlation of a and b, 0 where either does not vary.
func pearson(a, b []float64) float64 {
	if len(a) < 2 {
		return 0
	}
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// SSIM constants of Wang et al. 2004 ("Image quality assessment: from
// error visibility to structural similarity", Eq. 13 and Sec. III-B):
// C1 = (K1·L)², C2 = (K2·L)² for a dynamic range L of 1, and a Gaussian
// window of side 11 and σ 1.5.
const (
	ssimK1     = 0.01
	ssimK2     = 0.03
	ssimWindow = 11
	ssimSigma  = 1.5
)

// SSIM is the mean structural similarity index of two h×w maps with
// values in [0, 1] (Wang et al. 2004): at every position where an 11×11
// Gaussian window (σ 1.5) fits, (2μaμb + C1)(2σab + C2) /
// ((μa² + μb² + C1)(σa² + σb² + C2)) of the weighted window, averaged. A
// map narrower or shorter than 11 gets a window as large as fits (its
// smaller side, made odd), with the same σ. It is 1 for equal maps and
// falls towards 0, or below for maps that vary in opposite senses. It
// panics if a or b does not hold h·w values.
func SSIM(a, b []float64, h, w int) float64 {
	if len(a) != h*w || len(b) != h*w || h < 1 || w < 1 {
		panic("allcnn: SSIM: maps are not h×w")
	}
	k := min(ssimWindow, h, w)
	if k%2 == 0 {
		k--
	}
	g := make([]float64, k*k)
	var total float64
	for y := range k {
		for x := range k {
			dy, dx := float64(y-k/2), float64(x-k/2)
			g[y*k+x] = math.Exp(-(dy*dy + dx*dx) / (2 * ssimSigma * ssimSigma))
			total += g[y*k+x]
		}
	}
	for i := range g {
		g[i] /= total
	}
	const c1, c2 = ssimK1 * ssimK1, ssimK2 * ssimK2
	var sum float64
	n := 0
	for y0 := 0; y0+k <= h; y0++ {
		for x0 := 0; x0+k <= w; x0++ {
			var ma, mb, saa, sbb, sab float64
			for y := range k {
				for x := range k {
					i, wt := (y0+y)*w+x0+x, g[y*k+x]
					ma += wt * a[i]
					mb += wt * b[i]
					saa += wt * a[i] * a[i]
					sbb += wt * b[i] * b[i]
					sab += wt * a[i] * b[i]
				}
			}
			saa -= ma * ma
			sbb -= mb * mb
			sab -= ma * mb
			sum += (2*ma*mb + c1) * (2*sab + c2) / ((ma*ma + mb*mb + c1) * (saa + sbb + c2))
			n++
		}
	}
	return sum / float64(n)
}

// unitRange scales m to [0, 1] by its minimum and maximum, in place; a
// constant map becomes 0 everywhere.
func unitRange(m []float64) []float64 {
	lo, hi := slices.Min(m), slices.Max(m)
	for i, v := range m {
		if hi > lo {
			m[i] = (v - lo) / (hi - lo)
		} else {
			m[i] = 0
		}
	}
	return m
}
