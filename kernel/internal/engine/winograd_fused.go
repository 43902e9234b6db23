package engine

// Fused transforms for F(4×4, 3×3). The dense path (winograd.go) copies
// tiles into a matrix and applies Bᵀ⊗Bᵀ, Aᵀ⊗Aᵀ or its transpose with a GEMM;
// those GEMMs have k = 36 or 16 and dense matrices that are half zeros, so
// they run far below the BLAS's peak, and the copies cost as much again.
// Here each transform reads its tiles where they lie and applies the 1-D
// transforms of F(4, 3) as the few additions and multiplications by 2, 4, 5
// and 8 they are (Lavin & Gray §4.2; the 2-D transform is rows, then
// columns), writing its result straight into the matrix the products read,
// or into the output tensor:
//
//   - input: V = Bᵀ d B for every input tile d, into the t² × (cin·T)
//     matrix of the products (im2tile and the Bᵀ⊗Bᵀ GEMM in one);
//   - output: y = Aᵀ M A + bias, into the output tensor (the Aᵀ⊗Aᵀ GEMM and
//     tile2im in one);
//   - weight gradient: dM = A e Aᵀ for every m×m tile e of dy (outTiles and
//     the (Aᵀ⊗Aᵀ)ᵀ GEMM in one).
//
// The work goes in blocks of 8 tiles, 8 consecutive columns of the matrix,
// given by the offsets of their top-left elements in a plane of stride
// floats: on amd64 with AVX2 and FMA, one assembly routine per block keeps
// the 8 tiles in the 8 lanes of a vector register (winograd_amd64.s); the Go
// functions below do the same one tile at a time, for every other platform
// and for the last columns of a channel when T is not a multiple of 8.
//
// The input planes are copied first into a zero-padded buffer, so that every
// tile, including the edges and the padding, is read the same way; outputs
// and dy go straight from and to the tensors unless the tiles overhang them.

// F(4×4, 3×3) uses the fused transforms (Engine.fused) by default where
// they run in assembly, where they made All-CNN-C's 3×3 layers 20–45%
// faster with OpenBLAS (native BenchmarkConvLayers, 2 cores). The Go
// versions beat the dense path too with gonum's pure-Go GEMM on amd64
// (22–37%, a layer's three passes at batch 8), but are not measured on
// WebAssembly, which keeps the dense path. Tests choose with
// Config.NoFused and Config.NoAsm.

// fused reports whether the passes of w use the fused transforms.
func (w *Winograd) fused() bool { return w.e.fused && w.tr.m == 4 }

// quads reports whether the fused transforms of geometry g may take blocks
// of 16 tiles (winograd512_amd64.s): on CPUs with AVX-512, where the tiles
// of a row come in quads, 4 tiles side by side. Blocks start at multiples
// of 16 and a row holds a multiple of 4 tiles, so no quad straddles two
// rows or two examples.
func (w *Winograd) quads(g *winogradGeom) bool {
	return w.e.winograd512 && g.tilesX%4 == 0
}

// padsFor makes room for the padded planes of nw goroutines; each then
// takes its own with padOf.
func (s *winogradBufs) padsFor(nw int) {
	for len(s.pads) < nw {
		s.pads = append(s.pads, nil)
	}
}

// padOf is goroutine iw's buffer of n floats for padded planes, an
// allocation of its own. Parts of one shared buffer, back to back or up to
// 4 KB apart, left the goroutines unequal for a cause not found: at batch
// 1 the input adjoint's goroutine on the second part took 25% longer than
// the one on the first (198 against 159 µs a guided map; swapping the
// parts swapped the times), and the pass waited for it. With buffers of
// their own they took the same time: guided maps −1.9% (2000 pairs of
// passes on one net, the two ways alternating; faster in 66%).
func (s *winogradBufs) padOf(iw, n int) []float32 {
	s.pads[iw] = grow(s.pads[iw], n)
	return s.pads[iw][:n]
}

// winogradLd returns the distance between the t² rows of a matrix of n
// columns that the fused transforms write or read: n rounded up to an odd
// number of cache lines. The transforms touch the 36 rows at once, and rows
// a multiple of 4 KiB apart (96·128 floats, for one) all fall in the same
// set of the L1 cache, which holds 8: measured 13× slower (75 ns a tile
// for the input transform, against 5.8 with the rows a line apart).
func winogradLd(n int) int {
	lines := (n + 15) / 16
	if lines%2 == 0 {
		lines++
	}
	return 16 * lines
}

// tileOffsets returns off with the offsets of the top-left elements of the
// T = nb·tilesY·tilesX tiles of F(4×4) in nb planes of plane floats each,
// stride floats a row: tile (ty, tx) of plane j is column j·p + ty·tilesX +
// tx. len(off) is T rounded up to 8, the columns after T repeating the
// first (the blocks of 8 read whole blocks of offsets).
func tileOffsets(off []int, nb, tilesY, tilesX, stride, plane int) []int {
	T := nb * tilesY * tilesX
	off = off[:0]
	for j := range nb {
		for ty := range tilesY {
			for tx := range tilesX {
				off = append(off, j*plane+4*ty*stride+4*tx)
			}
		}
	}
	for len(off)%8 != 0 {
		off = append(off, off[0])
	}
	return off[:T]
}

// inputTiles lays out the 6×6 input tiles of nb examples for fusedInput
// and its adjoint: padded planes (one set per goroutine, nw of them, in
// padOf) of rows −pad … 4·tilesY+1−pad and columns −pad … 4·tilesX+3−pad,
// stride floats a row and plane floats a plane (the assembly reads or adds
// 8 floats of each tile row of 6), and each tile's offset in off.
func (w *Winograd) inputTiles(nb int, g *winogradGeom, s *winogradBufs) (stride, plane int, off []int, nw int) {
	rows := 4*g.tilesY + 2
	stride = 4*g.tilesX + 4
	plane = rows * stride
	s.off = tileOffsets(s.off[:cap(s.off)], nb, g.tilesY, g.tilesX, stride, plane)
	nw = min(g.nw, g.cin)
	s.padsFor(nw)
	return stride, plane, s.off, nw
}

// fusedInput sets v (36 × cin·T, rows ldv apart) to Bᵀ d B for the tiles of
// examples [n0, n0+nb) of x (padded by g.pad): V's columns c·T + j·p + tile,
// as im2tile and the Bᵀ⊗Bᵀ GEMM of the dense path.
func (w *Winograd) fusedInput(x Maps, n0, nb int, g *winogradGeom, s *winogradBufs, v []float32, ldv int) {
	cin := g.cin
	T := nb * g.p
	stride, plane, off, nw := w.inputTiles(nb, g, s)
	Team(nw, func(iw, nw int) {
		c0, c1 := Span(cin, iw, nw, 1)
		buf := s.padOf(iw, nb*plane)
		Zero(buf)
		var scratch [576]float32 // the 16-tile blocks' half-way sums
		for c := c0; c < c1; c++ {
			for j := range nb {
				src := x.Example(n0 + j)[c*g.h*g.w : (c+1)*g.h*g.w]
				dst := buf[j*plane+g.pad*stride+g.pad:]
				if w.e.phaseAsm && g.w%8 == 0 && g.h > 0 {
					_ = dst[(g.h-1)*stride+g.w-1]
					copyRows(&dst[0], stride, &src[0], g.w, g.h, g.w)
					continue
				}
				for iy := range g.h {
					copy(dst[iy*stride:iy*stride+g.w], src[iy*g.w:(iy+1)*g.w])
				}
			}
			col := v[c*T:]
			k := 0
			if w.quads(g) {
				for ; k+16 <= T; k += 16 {
					winogradInput4x16(&col[k], ldv, &buf[0], stride, (*[16]int)(off[k:k+16]), &scratch)
				}
			}
			if w.e.winogradAsm {
				for ; k+8 <= T; k += 8 {
					winogradInput4x8(&col[k], ldv, &buf[0], stride, (*[8]int)(off[k:k+8]))
				}
			}
			winogradInput4(col[k:], ldv, buf, stride, off[k:T])
		}
	})
}

// outputTiles lays out the 4×4 output tiles of nb examples for the fused
// output passes: where they fit the output exactly (direct) they are read
// from or written to the tensor itself, rows stride apart and examples plane
// apart; otherwise to padded planes (padOf), one set per goroutine (nw of
// them), which the caller crops or fills. off holds each tile's offset.
func (w *Winograd) outputTiles(nb int, g *winogradGeom, s *winogradBufs) (direct bool, stride, plane int, off []int, nw int) {
	direct = g.oh == 4*g.tilesY && g.ow == 4*g.tilesX
	stride, plane = g.ow, g.cout*g.oh*g.ow
	if !direct {
		stride = 4 * g.tilesX
		plane = 4 * g.tilesY * stride
	}
	s.off = tileOffsets(s.off[:cap(s.off)], nb, g.tilesY, g.tilesX, stride, plane)
	nw = min(g.nw, g.cout)
	s.padsFor(nw)
	return direct, stride, plane, s.off, nw
}

// fusedOutput sets examples [n0, n0+nb) of y to Aᵀ M A + bias (bias nil:
// none), rectified if rectify, for the products prod (36 × cout·T, rows ldm apart, columns as
// fusedInput's),
// dropping what overhangs the output: the Aᵀ⊗Aᵀ GEMM and tile2im of the
// dense path. prod is overwritten.
func (w *Winograd) fusedOutput(prod []float32, ldm, n0, nb int, g *winogradGeom, s *winogradBufs, bias []float32, rectify bool, y Maps) {
	cout := g.cout
	T := nb * g.p
	size := g.oh * g.ow
	direct, stride, plane, off, nw := w.outputTiles(nb, g, s)
	Team(nw, func(iw, nw int) {
		o0, o1 := Span(cout, iw, nw, 1)
		var scratch [384]float32 // the 16-tile blocks' half-way sums
		for o := o0; o < o1; o++ {
			var b float32
			if bias != nil {
				b = bias[o]
			}
			dst := y.Data[(n0*cout+o)*size:]
			if !direct {
				dst = s.padOf(iw, nb*plane)
			}
			src := prod[o*T:]
			k := 0
			if w.quads(g) {
				for ; k+16 <= T; k += 16 {
					winogradOutput4x16(&dst[0], stride, (*[16]int)(off[k:k+16]), &src[k], ldm, b, rectify, &scratch)
				}
			}
			if w.e.winogradAsm {
				for ; k+8 <= T; k += 8 {
					winogradOutput4x8(&dst[0], stride, (*[8]int)(off[k:k+8]), &src[k], ldm, b, rectify)
				}
			}
			winogradOutput4(dst, stride, off[k:T], src[k:], ldm, b, rectify)
			if direct {
				continue
			}
			for j := range nb {
				out := y.Example(n0 + j)[o*size : (o+1)*size]
				for i := range g.oh {
					copy(out[i*g.ow:(i+1)*g.ow], dst[j*plane+i*stride:])
				}
			}
		}
	})
}

// fusedGradOutput sets dm (36 × cout·T, rows ldm apart, columns as
// fusedInput's) to A e Aᵀ
// for the m×m tiles e of examples [n0, n0+nb) of dy, zero where a tile
// overhangs dy: outTiles and the (Aᵀ⊗Aᵀ)ᵀ GEMM of the dense path.
func (w *Winograd) fusedGradOutput(dy Maps, n0, nb int, g *winogradGeom, s *winogradBufs, dm []float32, ldm int) {
	cout := g.cout
	T := nb * g.p
	size := g.oh * g.ow
	direct, stride, plane, off, nw := w.outputTiles(nb, g, s)
	Team(nw, func(iw, nw int) {
		o0, o1 := Span(cout, iw, nw, 1)
		var buf []float32
		if !direct {
			buf = s.padOf(iw, nb*plane)
			Zero(buf)
		}
		for o := o0; o < o1; o++ {
			src := dy.Data[(n0*cout+o)*size:]
			if !direct {
				for j := range nb {
					in := dy.Example(n0 + j)[o*size : (o+1)*size]
					for i := range g.oh {
						copy(buf[j*plane+i*stride:j*plane+i*stride+g.ow], in[i*g.ow:(i+1)*g.ow])
					}
				}
				src = buf
			}
			col := dm[o*T:]
			k := 0
			if w.e.winogradAsm {
				for ; k+8 <= T; k += 8 {
					winogradGradOutput4x8(&col[k], ldm, &src[0], stride, (*[8]int)(off[k:k+8]))
				}
			}
			winogradGradOutput4(col[k:], ldm, src, stride, off[k:T])
		}
	})
}

// The 1-D transforms of F(4, 3) (winograd1D(4)) on 6 or 4 values.

// bt4 returns Bᵀx.
func bt4(x0, x1, x2, x3, x4, x5 float32) (y0, y1, y2, y3, y4, y5 float32) {
	t0, t1 := x4-4*x2, x3-4*x1
	t2, t3 := x4-x2, 2*(x3-x1)
	return 4*x0 - 5*x2 + x4, t0 + t1, t0 - t1, t2 + t3, t2 - t3, 4*x1 - 5*x3 + x5
}

// at4 returns Aᵀx.
func at4(x0, x1, x2, x3, x4, x5 float32) (y0, y1, y2, y3 float32) {
	s, d := x1+x2, x1-x2
	s2, d2 := x3+x4, x3-x4
	return x0 + s + s2, d + 2*d2, s + 4*s2, d + 8*d2 + x5
}

// a4 returns A x (A = (Aᵀ)ᵀ, 6×4).
func a4(x0, x1, x2, x3 float32) (y0, y1, y2, y3, y4, y5 float32) {
	s, d := x0+x2, x1+x3
	s2, d2 := x0+4*x2, 2*x1+8*x3
	return x0, s + d, s - d, s2 + d2, s2 - d2, x3
}

// winogradInput4 sets column l of dst (36 rows of ldd) to Bᵀ d B for the
// 6×6 tile d at src[off[l]:] (rows stride apart), for each l.
func winogradInput4(dst []float32, ldd int, src []float32, stride int, off []int) {
	for l, o := range off {
		var d [6][6]float32
		for a := range d {
			r := (*[6]float32)(src[o+a*stride:])
			d[a][0], d[a][1], d[a][2], d[a][3], d[a][4], d[a][5] = bt4(r[0], r[1], r[2], r[3], r[4], r[5])
		}
		for j := range 6 {
			v0, v1, v2, v3, v4, v5 := bt4(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j])
			dst[j*ldd+l] = v0
			dst[(6+j)*ldd+l] = v1
			dst[(12+j)*ldd+l] = v2
			dst[(18+j)*ldd+l] = v3
			dst[(24+j)*ldd+l] = v4
			dst[(30+j)*ldd+l] = v5
		}
	}
}

// winogradOutput4 sets the 4×4 block at dst[off[l]:] (rows stride apart) to
// Aᵀ M A + bias for the 6×6 M in column l of src (36 rows of lds), for each
// l, rectified (as RectifyTo) if rectify.
func winogradOutput4(dst []float32, stride int, off []int, src []float32, lds int, bias float32, rectify bool) {
	for l, o := range off {
		var c [4][6]float32
		for b := range 6 {
			c[0][b], c[1][b], c[2][b], c[3][b] = at4(src[b*lds+l], src[(6+b)*lds+l], src[(12+b)*lds+l],
				src[(18+b)*lds+l], src[(24+b)*lds+l], src[(30+b)*lds+l])
		}
		for i := range c {
			r := (*[4]float32)(dst[o+i*stride:])
			y0, y1, y2, y3 := at4(c[i][0], c[i][1], c[i][2], c[i][3], c[i][4], c[i][5])
			r[0], r[1], r[2], r[3] = y0+bias, y1+bias, y2+bias, y3+bias
			if rectify {
				r[0], r[1], r[2], r[3] = rectified(r[0]), rectified(r[1]), rectified(r[2]), rectified(r[3])
			}
		}
	}
}

// winogradGradOutput4 sets column l of dst (36 rows of ldd) to A e Aᵀ for
// the 4×4 e at src[off[l]:] (rows stride apart), for each l.
func winogradGradOutput4(dst []float32, ldd int, src []float32, stride int, off []int) {
	for l, o := range off {
		var r [4][6]float32
		for i := range r {
			e := (*[4]float32)(src[o+i*stride:])
			r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], r[i][5] = a4(e[0], e[1], e[2], e[3])
		}
		for b := range 6 {
			v0, v1, v2, v3, v4, v5 := a4(r[0][b], r[1][b], r[2][b], r[3][b])
			dst[b*ldd+l] = v0
			dst[(6+b)*ldd+l] = v1
			dst[(12+b)*ldd+l] = v2
			dst[(18+b)*ldd+l] = v3
			dst[(24+b)*ldd+l] = v4
			dst[(30+b)*ldd+l] = v5
		}
	}
}
