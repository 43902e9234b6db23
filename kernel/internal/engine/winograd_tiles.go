package engine

// The copies between NCHW maps and the tile matrices of the dense
// (unfused) Winograd path: the counterparts of im2col and col2im.

// im2tile copies the t×t input tiles of channels [c0, c1) of one example x
// (c × h × w, padded by pad) into rows of d, t² floats each (the tile
// row-major): tile (ty, tx) of channel c, whose top-left input pixel is
// (ty·m−pad, tx·m−pad), goes to row c·ld + off + ty·tilesX + tx. Pixels
// outside the image are zero.
func im2tile(x []float32, c0, c1, h, w, pad, m, t, tilesY, tilesX int, d []float32, ld, off int) {
	tt := t * t
	for c := c0; c < c1; c++ {
		plane := x[c*h*w : (c+1)*h*w]
		for ty := range tilesY {
			rows := d[(c*ld+off+ty*tilesX)*tt : (c*ld+off+(ty+1)*tilesX)*tt]
			for a := range t {
				iy := ty*m - pad + a
				if iy < 0 || iy >= h {
					for tx := range tilesX {
						Zero(rows[tx*tt+a*t : tx*tt+(a+1)*t])
					}
					continue
				}
				src := plane[iy*w : (iy+1)*w]
				for tx := range tilesX {
					dst := rows[tx*tt+a*t : tx*tt+(a+1)*t]
					ix := tx*m - pad
					if ix >= 0 && ix+t <= w {
						// Fixed-size array copies compile to a few vector
						// moves; copy() of 6 floats is a call to memmove.
						switch t {
						case 6:
							*(*[6]float32)(dst) = *(*[6]float32)(src[ix:])
						case 4:
							*(*[4]float32)(dst) = *(*[4]float32)(src[ix:])
						}
						continue
					}
					// A tile at the left or right edge: [lo, hi) is inside.
					lo, hi := max(0, -ix), min(t, w-ix)
					Zero(dst[:lo])
					copy(dst[lo:hi], src[ix+lo:ix+hi])
					Zero(dst[hi:])
				}
			}
		}
	}
}

// tile2im writes the m×m output tiles of channels [c0, c1) from rows of yt
// (m² floats each, laid out as im2tile's rows) into one example y (c × oh ×
// ow), adding bias[c] (unless bias is nil) and dropping the parts of tiles
// that overhang the output.
func tile2im(yt []float32, c0, c1, oh, ow, m, tilesY, tilesX, ld, off int, bias, y []float32) {
	mm := m * m
	for c := c0; c < c1; c++ {
		var b float32
		if bias != nil {
			b = bias[c]
		}
		plane := y[c*oh*ow : (c+1)*oh*ow]
		for ty := range tilesY {
			rows := yt[(c*ld+off+ty*tilesX)*mm : (c*ld+off+(ty+1)*tilesX)*mm]
			for i := 0; i < m && ty*m+i < oh; i++ {
				dst := plane[(ty*m+i)*ow : (ty*m+i+1)*ow]
				for tx := range tilesX {
					src := rows[tx*mm+i*m : tx*mm+(i+1)*m]
					ox := tx * m
					if ox+m <= ow {
						switch m {
						case 4:
							s, d := (*[4]float32)(src), (*[4]float32)(dst[ox:])
							d[0], d[1], d[2], d[3] = s[0]+b, s[1]+b, s[2]+b, s[3]+b
							continue
						case 2:
							s, d := (*[2]float32)(src), (*[2]float32)(dst[ox:])
							d[0], d[1] = s[0]+b, s[1]+b
							continue
						}
					}
					for j, v := range src[:min(m, ow-ox)] {
						dst[ox+j] = v + b
					}
				}
			}
		}
	}
}

// outTiles is the adjoint of tile2im without bias: it copies the m×m output
// tiles of channels [c0, c1) of one example dy (c × oh × ow) into rows of e,
// zero where a tile overhangs the output (so that those positions, which the
// forward pass computes and drops, receive no gradient).
func outTiles(dy []float32, c0, c1, oh, ow, m, tilesY, tilesX int, e []float32, ld, off int) {
	mm := m * m
	for c := c0; c < c1; c++ {
		plane := dy[c*oh*ow : (c+1)*oh*ow]
		for ty := range tilesY {
			rows := e[(c*ld+off+ty*tilesX)*mm : (c*ld+off+(ty+1)*tilesX)*mm]
			for i := range m {
				oy := ty*m + i
				if oy >= oh {
					for tx := range tilesX {
						Zero(rows[tx*mm+i*m : tx*mm+(i+1)*m])
					}
					continue
				}
				src := plane[oy*ow : (oy+1)*ow]
				for tx := range tilesX {
					dst := rows[tx*mm+i*m : tx*mm+(i+1)*m]
					ox := tx * m
					if ox+m <= ow {
						switch m {
						case 4:
							*(*[4]float32)(dst) = *(*[4]float32)(src[ox:])
							continue
						case 2:
							*(*[2]float32)(dst) = *(*[2]float32)(src[ox:])
							continue
						}
					}
					n := copy(dst, src[ox:min(ox+m, ow)])
					Zero(dst[n:])
				}
			}
		}
	}
}
