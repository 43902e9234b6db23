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
