package engine

// Im2col writes the rows of channels [c0, c1) (k·k rows each) of one
// example's patches into col, a matrix with ld columns, starting at column
// off: column off+j holds the input patch seen by output pixel j, zero where
// the patch leaves the image.
func Im2col(x []float32, c0, c1, h, w, k, s, pad, oh, ow int, col []float32, ld, off int) {
	Im2colRows(x, c0, c1, h, w, k, s, pad, 0, oh, ow, col, ld, off)
}

// Im2colRows is Im2col for the output rows [y0, y1) alone: column off+j
// holds the patch of output pixel y0·ow + j.
func Im2colRows(x []float32, c0, c1, h, w, k, s, pad, y0, y1, ow int, col []float32, ld, off int) {
	p := (y1 - y0) * ow
	row := c0 * k * k
	for ci := c0; ci < c1; ci++ {
		plane := x[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				dst := col[row*ld+off : row*ld+off+p]
				row++
				for y := y0; y < y1; y++ {
					iy := y*s - pad + ki
					d := dst[(y-y0)*ow : (y-y0+1)*ow]
					if iy < 0 || iy >= h {
						Zero(d)
						continue
					}
					src := plane[iy*w : (iy+1)*w]
					ix := kj - pad
					if s == 1 {
						// Pixels [a, b) read inside the row; the padding
						// either side of them is zero.
						a, b := max(0, -ix), min(ow, w-ix)
						if a >= b {
							clear(d)
							continue
						}
						clear(d[:a])
						copy(d[a:b], src[ix+a:ix+b])
						clear(d[b:])
						continue
					}
					for xo := range d {
						if ix >= 0 && ix < w {
							d[xo] = src[ix]
						} else {
							d[xo] = 0
						}
						ix += s
					}
				}
			}
		}
	}
}

// Col2im is the adjoint of Im2col for channels [c0, c1): it sums each
// column entry back into the input pixel it was copied from. Those channels
// of dx are overwritten.
func Col2im(col []float32, c0, c1, h, w, k, s, pad, oh, ow, ld, off int, dx []float32) {
	if k == 3 && s == 2 && pad == 1 && h == 2*oh && w == 2*ow && ow > 1 {
		col2im3s2(col, c0, c1, oh, ow, ld, off, dx)
		return
	}
	col2im(col, c0, c1, h, w, k, s, pad, oh, ow, ld, off, dx)
}

// col2im is Col2im for any geometry.
func col2im(col []float32, c0, c1, h, w, k, s, pad, oh, ow, ld, off int, dx []float32) {
	p := oh * ow
	row := c0 * k * k
	for ci := c0; ci < c1; ci++ {
		plane := dx[ci*h*w : (ci+1)*h*w]
		Zero(plane)
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				src := col[row*ld+off : row*ld+off+p]
				row++
				for y := 0; y < oh; y++ {
					iy := y*s - pad + ki
					if iy < 0 || iy >= h {
						continue
					}
					d := plane[iy*w : (iy+1)*w]
					ix := kj - pad
					for _, v := range src[y*ow : (y+1)*ow] {
						if ix >= 0 && ix < w {
							d[ix] += v
						}
						ix += s
					}
				}
			}
		}
	}
}

// col2im3s2 is Col2im for 3×3 kernels with stride 2 and padding 1 on maps
// twice the output's size (h = 2·oh, w = 2·ow), All-CNN-C's stride-2
// layers: each input pixel gathers its one to four column entries and is
// written once, where Col2im clears the plane and adds every entry to its
// pixel with a strided read-modify-write. The sums run in Col2im's order
// (kernel row, then column, from +0), so the results are Col2im's, bit for
// bit.
func col2im3s2(col []float32, c0, c1, oh, ow, ld, off int, dx []float32) {
	h, w := 2*oh, 2*ow
	for ci := c0; ci < c1; ci++ {
		plane := dx[ci*h*w : (ci+1)*h*w]
		tap := func(ki, kj, y int) []float32 {
			r := (ci*9+ki*3+kj)*ld + off + y*ow
			return col[r : r+ow]
		}
		for r := range oh {
			// Row 2r: kernel row 1 of output row r.
			gather3s2(plane[2*r*w:(2*r+1)*w], tap(1, 0, r), tap(1, 1, r), tap(1, 2, r))
			// Row 2r+1: kernel row 0 of output row r+1 (below the last
			// row, none), then kernel row 2 of output row r.
			o := plane[(2*r+1)*w : (2*r+2)*w]
			k0, k1, k2 := tap(2, 0, r), tap(2, 1, r), tap(2, 2, r)
			if r+1 == oh {
				gather3s2(o, k0, k1, k2)
				continue
			}
			b0, b1, b2 := tap(0, 0, r+1), tap(0, 1, r+1), tap(0, 2, r+1)
			for q := range ow - 1 {
				o[2*q] = 0 + b1[q] + k1[q]
				o[2*q+1] = 0 + b0[q+1] + b2[q] + k0[q+1] + k2[q]
			}
			o[w-2] = 0 + b1[ow-1] + k1[ow-1]
			o[w-1] = 0 + b2[ow-1] + k2[ow-1]
		}
	}
}

// gather3s2 sets the input row d (2·ow wide) from one kernel row's entries
// for it, columns t0, t1, t2 (ow each): an even pixel 2q gets t1[q], an odd
// one 2q+1 gets t0[q+1] then t2[q], each sum from +0 as Col2im's.
func gather3s2(d, t0, t1, t2 []float32) {
	ow := len(t1)
	for q := range ow - 1 {
		d[2*q] = 0 + t1[q]
		d[2*q+1] = 0 + t0[q+1] + t2[q]
	}
	d[2*ow-2] = 0 + t1[ow-1]
	d[2*ow-1] = 0 + t2[ow-1]
}
