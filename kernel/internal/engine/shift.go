package engine

import (
	"fmt"
)

// Shift is a stride-1 k×k convolution computed without im2col: as k²
// products, one per kernel tap, of that tap's weights (outC × inC) and a
// shifted view of the zero-padded input. With the padded planes hp × wp and
// the output oh × ow, output pixel (y, x) is column y·wp + x of a product
// oh·wp columns wide, and tap (i, j) reads the input from i·wp + j on: every
// row of the view is a contiguous run of one padded plane, so the BLAS reads
// it in place. The wp − ow columns past each output row are computed and
// dropped.
//
// On the small upper maps of a net at batch 1 this beats im2col + GEMM,
// whose lowering copies the input k² times in runs of a few floats: on
// All-CNN-C's conv7 (192 channels, 8×8 → 6×6) the products alone took 171
// µs on one core where the layer took 270 (RATIONALE.md, "Why multiply
// shifted views …?"). ShiftPays says where.
//
// The products sum each output over the taps in order and each tap over
// the input channels, whatever the batch size and however the output
// channels are split over goroutines, so an example's output does not
// depend on the batch it came in.
type Shift struct {
	e                 *Engine
	inC, outC, k, pad int
	weight            weightCopy // the weights wt holds, as the caller gave them
	wt                []float32  // k² × outC × inC: tap t's weights at t·outC·inC
	ok                bool       // wt holds weight's taps
	bufs              [][]float32
}

// Freeze is Winograd's Freeze for s's weights.
func (s *Shift) Freeze(on bool) { s.weight.freeze(on) }

// ShiftPays reports whether Shift beats im2col + GEMM for a convolution
// with inC input channels, a k×k kernel, stride s, padding pad and an
// output oh×ow from an input w wide: stride 1, a kernel wider than one
// pixel, enough input channels for each tap's product to run near peak
// (its depth is inC), a small map (im2col's runs are short), and at most a
// quarter of the products' columns dropped.
func ShiftPays(inC, k, s, pad, oh, ow, w int) bool {
	return s == 1 && k > 1 && inC >= 32 && oh*ow <= 64 && 4*ow >= 3*(w+2*pad)
}

// NewShift prepares the convolution of a layer with inC input and outC
// output channels, a k×k kernel and zero padding pad on each side.
func (e *Engine) NewShift(inC, outC, k, pad int) *Shift {
	if k < 1 || pad < 0 || pad >= k {
		panic(fmt.Sprintf("kernel: shifted convolution with kernel %d and padding %d", k, pad))
	}
	return &Shift{e: e, inC: inC, outC: outC, k: k, pad: pad,
		weight: weightCopy{data: make([]float32, outC*inC*k*k)}, wt: make([]float32, outC*inC*k*k)}
}

// setWeights notes the weights (outC × inC × k × k) of this call and
// regroups them by tap where they differ from the last call's, as
// Winograd's setWeights keeps its transformed weights.
func (s *Shift) setWeights(weight []float32) {
	if !s.weight.update(s.e, weight, "shifted convolution") && s.ok {
		return
	}
	kk := s.k * s.k
	Team(min(s.e.threads, s.outC), func(iw, nw int) {
		o0, o1 := Span(s.outC, iw, nw, 1)
		for o := o0; o < o1; o++ {
			for c := range s.inC {
				src := s.weight.data[(o*s.inC+c)*kk : (o*s.inC+c+1)*kk]
				for t, v := range src {
					s.wt[(t*s.outC+o)*s.inC+c] = v
				}
			}
		}
	})
	s.ok = true
}

// Forward sets y (n × outC × oh × ow) to the convolution of x (n × inC × h
// × w) with weight, plus bias[o] on output channel o, rectified if rectify.
// One example is split over the engine's goroutines by output channels;
// several go to the goroutines whole.
func (s *Shift) Forward(x []float32, n, h, w int, weight, bias []float32, rectify bool, y []float32) {
	s.setWeights(weight)
	hp, wp := h+2*s.pad, w+2*s.pad
	oh, ow := hp-s.k+1, wp-s.k+1
	cols, plane := oh*wp, hp*wp
	// The view of the last tap reads k−1 floats past the last padded plane
	// (the dropped columns of the last output row).
	padded := s.inC*plane + s.k - 1
	s.team(n, s.outC, padded+s.outC*cols, func(buf []float32, o0, o1, j0, j1, step int) {
		xp, prod := buf[:padded], buf[padded:padded+(o1-o0)*cols]
		for j := j0; j < j1; j += step {
			padPlanes(x[j*s.inC*h*w:(j+1)*s.inC*h*w], s.inC, h, w, s.pad, xp)
			for t := range s.k * s.k {
				off := (t/s.k)*wp + t%s.k
				beta := float32(1)
				if t == 0 {
					beta = 0
				}
				s.e.Gemm(false, false, o1-o0, cols, s.inC, 1, s.wt[(t*s.outC+o0)*s.inC:], s.inC, xp[off:], plane, beta, prod, cols)
			}
			out := y[j*s.outC*oh*ow:]
			for o := o0; o < o1; o++ {
				for r := range oh {
					src := prod[(o-o0)*cols+r*wp:]
					s.e.Affine(out[(o*oh+r)*ow:(o*oh+r+1)*ow], src[:ow], 1, bias[o], rectify)
				}
			}
		}
	})
}

// team runs f on the engine's goroutines for a batch of n examples whose
// products have rows rows (output channels for Forward, input channels for
// BackwardData): one example split by rows, in panels of 12, one
// goroutine to each part (j0 = 0, j1 = n, step 1); several examples whole,
// goroutine w taking examples w, w+nw, … (rows [0, rows)). buf is the
// goroutine's own buffer of at least need floats.
func (s *Shift) team(n, rows, need int, f func(buf []float32, r0, r1, j0, j1, step int)) {
	nw := min(s.e.threads, max(n, 2))
	if n == 1 {
		nw = min(nw, (rows+11)/12)
	}
	if len(s.bufs) < nw {
		s.bufs = append(s.bufs, make([][]float32, nw-len(s.bufs))...)
	}
	Team(nw, func(iw, nw int) {
		r0, r1, j0, step := 0, rows, iw, nw
		if n == 1 {
			r0, r1 = Span(rows, iw, nw, 12)
			j0, step = 0, 1
		}
		if r0 == r1 {
			return
		}
		if len(s.bufs[iw]) < need {
			s.bufs[iw] = make([]float32, need)
		}
		f(s.bufs[iw], r0, r1, j0, n, step)
	})
}

// padPlanes copies x (c planes h × w) into xp as planes (h+2·p) × (w+2·p)
// with zero borders, and zeroes the floats past the last plane.
func padPlanes(x []float32, c, h, w, p int, xp []float32) {
	hp, wp := h+2*p, w+2*p
	if p == 0 {
		copy(xp, x[:c*h*w])
		clear(xp[c*h*w:])
		return
	}
	for ch := range c {
		dst := xp[ch*hp*wp : (ch+1)*hp*wp]
		clear(dst[:p*wp])
		for r := range h {
			row := dst[(r+p)*wp : (r+p+1)*wp]
			for i := range p {
				row[i] = 0
				row[wp-1-i] = 0
			}
			copy(row[p:p+w], x[(ch*h+r)*w:(ch*h+r+1)*w])
		}
		clear(dst[(h+p)*wp:])
	}
	clear(xp[c*hp*wp:])
}

// BackwardData sets dx (n × inC × h × w) to the gradient of the input for
// dy (n × outC × oh × ow), the gradient of the output: each tap's product
// (its weights transposed, inC × outC, times dy) added into the window of
// the padded input that the tap read in the forward pass. With dy's rows
// widened to the padded input's width wp, that window starts at i·wp + j
// and the product's columns fall on it in order, so the product adds into
// padded planes in place (a goroutine's own, each with room past its end
// for the last tap's columns), which are then cropped into dx; the wp − ow
// columns past each row of dy are zeros and add nothing where they fall.
// One example is split over the goroutines by input channels. A non-nil r
// is applied to each goroutine's channels of dx as it writes them.
//
// Against the transposed convolution of dy padded by k−1−pad (the forward
// pass's shifted views over dy), the products are as many but narrower:
// (oh−1)·wp + ow columns each against h·(ow+2(k−1−pad)), 46 (computed as
// 48) against 80 on All-CNN-C's conv7.
func (s *Shift) BackwardData(dy []float32, n, h, w int, weight, dx []float32, r *Rectifier) {
	s.setWeights(weight)
	hp, wp := h+2*s.pad, w+2*s.pad
	oh, ow := hp-s.k+1, wp-s.k+1
	// A tap's product columns: (oh−1)·wp + ow, rounded up to a whole panel
	// of 16 where dy's last widened row has the room (its columns past ow
	// are zeros, which add nothing where they fall): the AVX-512 Sgemm ran
	// 46 columns 17% slower than 48.
	cols := min(((oh-1)*wp+ow+15)&^15, oh*wp)
	// The padded planes, ld floats apart so that the last tap's columns
	// stay within each plane's own row of the accumulator.
	ld := ((s.k-1)*wp + s.k - 1 + cols + 15) &^ 15
	wide := s.outC * oh * wp // dy with rows wp wide
	s.team(n, s.inC, wide+s.inC*ld, func(buf []float32, c0, c1, j0, j1, step int) {
		dyw, acc := buf[:wide], buf[wide:wide+(c1-c0)*ld]
		for j := j0; j < j1; j += step {
			widen(dy[j*s.outC*oh*ow:(j+1)*s.outC*oh*ow], s.outC, oh, ow, wp, dyw)
			clear(acc)
			for t := range s.k * s.k {
				off := (t/s.k)*wp + t%s.k
				s.e.Gemm(true, false, c1-c0, cols, s.outC, 1, s.wt[t*s.outC*s.inC+c0:], s.inC, dyw, oh*wp, 1, acc[off:], ld)
			}
			out := dx[j*s.inC*h*w:]
			for c := c0; c < c1; c++ {
				src := acc[(c-c0)*ld+s.pad*wp+s.pad:]
				for y := range h {
					copy(out[(c*h+y)*w:(c*h+y+1)*w], src[y*wp:])
				}
			}
			r.Apply(s.e, dx, (j*s.inC+c0)*h*w, (j*s.inC+c1)*h*w)
		}
	})
}

// widen copies dy (c planes oh × ow) into dst as planes oh × wp, each row
// followed by wp − ow zeros.
func widen(dy []float32, c, oh, ow, wp int, dst []float32) {
	for r := range c * oh {
		row := dst[r*wp : (r+1)*wp]
		copy(row, dy[r*ow:(r+1)*ow])
		clear(row[ow:])
	}
}
