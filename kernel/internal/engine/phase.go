package engine

// Strided im2col through phase planes. A convolution with stride s reads
// every s-th input column, so im2col's rows are gathers, one value at a time
// (the cost of the stride-2 layers' lowering, a tenth of a batched forward
// pass of All-CNN-C). Split first into its s² phase planes, plane (p, q)
// holding x[s·r+p][s·c+q] at (r, c), the input becomes what a stride-1
// lowering reads: every im2col row (ki, kj) is a shifted window of one plane,
// read with contiguous copies, and where the window spans whole plane rows
// (as for kj ≥ pad when the output is as wide as the plane) one copy fills
// the row. (Running col2im the same way, summing into the planes and then
// interleaving them, measured slower than col2im: 134 against 107 µs an
// example on conv3; col2im3s2 (im2col.go) gathers each pixel's entries
// instead.) With AVX2 or AVX-512, All-CNN-C's 3×3 stride-2 layers skip the
// phase planes (im2col3s2Rows).

// phaseDims is the size of each phase plane of an h×w map for stride s.
func phaseDims(h, w, s int) (ph, pw int) { return (h + s - 1) / s, (w + s - 1) / s }

// phaseFloats is the buffer im2colPhase needs for c channels.
func phaseFloats(c, h, w, s int) int {
	ph, pw := phaseDims(h, w, s)
	return c * s * s * ph * pw
}

// split returns (q, r) with a = q·s + r and 0 ≤ r < s, for any sign of a.
func split(a, s int) (q, r int) {
	q, r = a/s, a%s
	if r < 0 {
		q, r = q-1, r+s
	}
	return q, r
}

// window returns the outputs [lo, hi) of o whose source o+d lies in [0, n).
func window(d, n, o int) (lo, hi int) {
	lo, hi = max(0, -d), min(o, n-d)
	return lo, max(lo, hi)
}

// deinterleave writes rows [r0, r1) of the s² phase planes (ph×pw each,
// plane (p, q) at planes[(p·s+q)·ph·pw:]) of one channel x (h×w), zero
// beyond the image.
func deinterleave(asm bool, x []float32, h, w, s, ph, pw, r0, r1 int, planes []float32) {
	pl := ph * pw
	if r0 >= r1 {
		return
	}
	if asm && s == 2 && h%2 == 0 && w%16 == 0 {
		// Every plane row has its source row: ph = h/2, pw = w/2.
		_, _ = x[2*r1*w-1], planes[3*pl+r1*pw-1]
		deinterleave2(&planes[r0*pw], pl, pw, &x[2*r0*w], w, 2*(r1-r0))
		return
	}
	for p := range s {
		for r := r0; r < r1; r++ {
			iy := r*s + p
			if s == 2 {
				e := planes[p*2*pl+r*pw : p*2*pl+(r+1)*pw]
				o := planes[(p*2+1)*pl+r*pw : (p*2+1)*pl+(r+1)*pw]
				if iy >= h {
					Zero(e)
					Zero(o)
					continue
				}
				src := x[iy*w : (iy+1)*w]
				half := w / 2
				e, o = e[:pw], o[:pw]
				for c := range half {
					e[c] = src[2*c]
					o[c] = src[2*c+1]
				}
				if w%2 == 1 {
					e[half], o[half] = src[w-1], 0
				}
				continue
			}
			for q := range s {
				dst := planes[(p*s+q)*pl+r*pw : (p*s+q)*pl+(r+1)*pw]
				if iy >= h {
					Zero(dst)
					continue
				}
				src := x[iy*w : (iy+1)*w]
				for c := range dst {
					if ix := c*s + q; ix < w {
						dst[c] = src[ix]
					} else {
						dst[c] = 0
					}
				}
			}
		}
	}
}

// im2colPhase is im2col (same arguments) for stride s ≥ 2, through phase
// planes kept in buf (phaseFloats(c1, h, w, s) floats; channel ci uses its
// own part, so goroutines with disjoint channels can share it).
func im2colPhase(asm bool, x []float32, c0, c1, h, w, k, s, pad, oh, ow int, col []float32, ld, off int, buf []float32) {
	im2colPhaseRows(asm, x, c0, c1, h, w, k, s, pad, 0, oh, ow, col, ld, off, buf)
}

// im2colPhaseRows is im2colPhase for the output rows [y0, y1) alone, as
// Im2colRows is Im2col's: only the plane rows those outputs read are split.
func im2colPhaseRows(asm bool, x []float32, c0, c1, h, w, k, s, pad, y0, y1, ow int, col []float32, ld, off int, buf []float32) {
	if asm && k == 3 && s == 2 && pad == 1 && h%2 == 0 && (w == 16 || w == 32) {
		im2col3s2Rows(hasAVX512, x, c0, c1, h, w, y0, y1, col, ld, off)
		return
	}
	ph, pw := phaseDims(h, w, s)
	pl := ph * pw
	p := (y1 - y0) * ow
	row := c0 * k * k
	// Output row y reads plane rows y+dr, dr from ⌊−pad/s⌋ to ⌊(k−1−pad)/s⌋.
	drLo, _ := split(-pad, s)
	drHi, _ := split(k-1-pad, s)
	r0, r1 := max(0, y0+drLo), min(ph, y1+drHi)
	// Each tap's window, the same for every channel: the plane it reads,
	// the outputs [ylo, yhi) × [xlo, xhi) inside it, and its shift.
	type tap struct{ plane, ylo, yhi, xlo, xhi, dr, dc int }
	var fixed [25]tap
	taps := fixed[:0]
	if k*k > len(fixed) {
		taps = make([]tap, 0, k*k)
	}
	for ki := range k {
		dr, pr := split(ki-pad, s)
		ylo, yhi := window(dr, ph, y1)
		ylo = max(ylo, y0)
		yhi = max(yhi, ylo)
		for kj := range k {
			dc, pc := split(kj-pad, s)
			xlo, xhi := window(dc, pw, ow)
			taps = append(taps, tap{(pr*s + pc) * pl, ylo, yhi, xlo, xhi, dr, dc})
		}
	}
	for ci := c0; ci < c1; ci++ {
		planes := buf[ci*s*s*pl : (ci+1)*s*s*pl]
		deinterleave(asm, x[ci*h*w:(ci+1)*h*w], h, w, s, ph, pw, r0, r1, planes)
		for _, t := range taps {
			ylo, yhi, xlo, xhi, dr, dc := t.ylo, t.yhi, t.xlo, t.xhi, t.dr, t.dc
			plane := planes[t.plane : t.plane+pl]
			dst := col[row*ld+off : row*ld+off+p]
			row++
			if ylo == yhi || xlo == xhi {
				Zero(dst)
				continue
			}
			// dst holds rows y0 … y1−1: row y at (y−y0)·ow.
			Zero(dst[:(ylo-y0)*ow])
			Zero(dst[(yhi-y0)*ow:])
			if ow == pw {
				// The rows of the window lie ow apart in the plane as
				// in dst: one copy from the first row's xlo to the last
				// row's xhi, then zeros over the columns outside the
				// window, which the copy filled from the neighbouring
				// rows (8 copies of 7 floats each were most of the
				// time on the 8×8 maps).
				lo, hi := ylo*ow+xlo, (yhi-1)*ow+xhi
				shift := dr*pw + dc
				copy(dst[lo-y0*ow:hi-y0*ow], plane[lo+shift:hi+shift])
				if xlo > 0 || xhi < ow {
					for y := ylo - y0; y < yhi-y0; y++ {
						d := dst[y*ow : (y+1)*ow]
						for x := range xlo {
							d[x] = 0
						}
						for x := xhi; x < ow; x++ {
							d[x] = 0
						}
					}
				}
				continue
			}
			for y := ylo; y < yhi; y++ {
				d := dst[(y-y0)*ow : (y-y0+1)*ow]
				Zero(d[:xlo])
				Zero(d[xhi:])
				copy(d[xlo:xhi], plane[(y+dr)*pw+xlo+dc:])
			}
		}
	}
}

// im2col3s2Rows is im2colPhaseRows for 3×3 kernels with stride 2 and
// padding 1 on even maps 16 or 32 wide (All-CNN-C's conv6 and conv3), in
// assembly (AVX-512 if avx512, else AVX2): no phase planes; each input row
// a kernel row reads is split into the three kernel columns' rows in
// registers (phase512_amd64.s, phase_amd64.s), the values im2colPhaseRows
// copies, bit for bit.
func im2col3s2Rows(avx512 bool, x []float32, c0, c1, h, w, y0, y1 int, col []float32, ld, off int) {
	ow := w / 2
	if y0 >= y1 {
		return
	}
	for ci := c0; ci < c1; ci++ {
		plane := x[ci*h*w : (ci+1)*h*w]
		for ki := range 3 {
			dst := col[(ci*9+ki*3)*ld+off:]
			_ = dst[2*ld+(y1-y0)*ow-1]
			ya := y0
			if ki == 0 && ya == 0 {
				// Output row 0 of kernel row 0 reads input row −1: zeros.
				for kj := range 3 {
					clear(dst[kj*ld : kj*ld+ow])
				}
				ya = 1
			}
			if ya == y1 {
				continue
			}
			iy := 2*ya - 1 + ki
			_ = plane[(iy+2*(y1-1-ya))*w+w-1]
			d, src, rows := &dst[(ya-y0)*ow], &plane[iy*w], y1-ya
			switch {
			case avx512 && ow == 16:
				im2col3s2x16(d, ld, src, w, rows)
			case avx512:
				im2col3s2x8(d, ld, src, w, rows)
			case ow == 16:
				im2col3s2x16avx2(d, ld, src, w, rows)
			default:
				im2col3s2x8avx2(d, ld, src, w, rows)
			}
		}
	}
}
