package engine

import "fmt"

// The input gradient of F(4×4, 3×3) as the adjoint of the forward pass.
//
// The forward pass is linear in its input: y = Aᵀ[Σ_c U_oc ⊙ (Bᵀ d_c B)]A
// over the tiles d_c of x. Its adjoint, which maps dy to dx, runs the same
// steps backwards with each matrix transposed:
//
//	dM = A e Aᵀ               for the 4×4 tiles e of dy   (fusedGradOutput)
//	dV[ξ] = U[ξ]ᵀ · dM[ξ]     the t² products, on the forward pass's U
//	dx += B dV Bᵀ             added into the 6×6 windows the forward pass
//	                          read (they overlap by 2), then cropped
//
// This is the input gradient exactly, as the forward pass is the
// convolution exactly, and it needs no transformed weights of its own: the
// usual way (BackwardData) convolves dy with the kernels rotated by 180°,
// whose transform U′ is as large as U (5.3 MB on All-CNN-C's conv5), so a
// guided map at batch 1 streamed both through the caches. Here it reads the
// U that the forward pass of the same map has just read.

// BackwardDataAdjoint is BackwardData (same arguments) computed as the
// adjoint of the forward pass, on U; it needs F(4×4) with the fused
// transforms (AdjointOK). keepU keeps U between calls, as Forward's does,
// and shares it with Forward. A non-nil r is applied to each channel of dx
// as it is written.
func (w *Winograd) BackwardDataAdjoint(dy Maps, weight []float32, dx Maps, keepU bool, r *Rectifier) {
	if !w.AdjointOK() {
		panic("kernel: Winograd adjoint without the fused F(4×4) transforms")
	}
	w.setWeights(weight)
	u := w.transformWeights(false, keepU)
	tt := w.tr.t * w.tr.t
	cin, cout := w.inC, w.outC
	perTile := 2 * tt * max(cin, cout)
	g := w.setGeom(dx, cin, cout, w.pad, perTile)
	if dy.N != g.n || dy.C != cout || dy.H != g.oh || dy.W != g.ow {
		panic(fmt.Sprintf("kernel: Winograd input gradient for input %v and output gradient %v", dx, dy))
	}
	w.groups(g, perTile, func(g *winogradGeom, bf *winogradBufs, n0, nb int) {
		w.adjointGroup(dy, u, dx, g, bf, n0, nb, r)
	})
}

// AdjointOK reports whether BackwardDataAdjoint runs for w: F(4×4) with
// the fused transforms.
func (w *Winograd) AdjointOK() bool { return w.fused() }

// adjointGroup is BackwardDataAdjoint's work on examples [n0, n0+nb) (a
// group of g), on g.nw goroutines and the buffers bf.
func (w *Winograd) adjointGroup(dy Maps, u []float32, dx Maps, g *winogradGeom, bf *winogradBufs, n0, nb int, r *Rectifier) {
	tt := w.tr.t * w.tr.t
	cin, cout := g.cin, g.cout
	T := nb * g.p
	ldm, ldv := winogradLd(cout*T), winogradLd(cin*T)
	bf.a = grow(bf.a, tt*ldv)
	bf.b = grow(bf.b, tt*ldm)
	dm, dv := bf.b[:tt*ldm], bf.a[:tt*ldv]
	w.fusedGradOutput(dy, n0, nb, g, bf, dm, ldm)
	// dV[ξ] = U[ξ]ᵀ · dM[ξ]: U[ξ] is cout × cin.
	w.products(g.nw, true, cin, cout, T, u, cin, dm, ldm, dv, ldv)
	w.fusedInputAdjoint(dv, ldv, n0, nb, g, bf, dx, r)
}

// fusedInputAdjoint sets examples [n0, n0+nb) of dx to the sum of B dV Bᵀ
// over the tiles of dV (36 × cin·T, rows ldv apart, columns as
// fusedInput's), each added into the 6×6 window of the padded input that
// its tile read, the padding dropped: the adjoint of fusedInput; then r
// (if not nil) on each channel. dv is overwritten.
func (w *Winograd) fusedInputAdjoint(dv []float32, ldv, n0, nb int, g *winogradGeom, s *winogradBufs, dx Maps, r *Rectifier) {
	cin := g.cin
	T := nb * g.p
	// fusedInput's planes; the assembly adds 8 floats to each tile row (0
	// to the 2 past the tile).
	stride, plane, off, nw := w.inputTiles(nb, g, s)
	Team(nw, func(iw, nw int) {
		c0, c1 := Span(cin, iw, nw, 1)
		buf := s.padOf(iw, nb*plane)
		var scratch [576]float32 // the 16-tile blocks' half-way sums
		for c := c0; c < c1; c++ {
			Zero(buf)
			col := dv[c*T:]
			k := 0
			if w.quads(g) {
				for ; k+16 <= T; k += 16 {
					winogradInputAdjoint4x16(&buf[0], stride, (*[16]int)(off[k:k+16]), &col[k], ldv, &scratch)
				}
			}
			if w.e.winogradAsm {
				for ; k+8 <= T; k += 8 {
					winogradInputAdjoint4x8(&buf[0], stride, (*[8]int)(off[k:k+8]), &col[k], ldv)
				}
			}
			winogradInputAdjoint4(buf, stride, off[k:T], col[k:], ldv)
			for j := range nb {
				dst := dx.Example(n0 + j)[c*g.h*g.w : (c+1)*g.h*g.w]
				src := buf[j*plane+g.pad*stride+g.pad:]
				for iy := range g.h {
					copy(dst[iy*g.w:(iy+1)*g.w], src[iy*stride:])
				}
				lo := ((n0+j)*cin + c) * g.h * g.w
				r.Apply(w.e, dx.Data, lo, lo+g.h*g.w)
			}
		}
	})
}

// b4 returns B x (B = (Bᵀ)ᵀ, 6×6), the adjoint of bt4.
func b4(x0, x1, x2, x3, x4, x5 float32) (y0, y1, y2, y3, y4, y5 float32) {
	d12, d34 := x2-x1, x4-x3
	s12, s34 := x1+x2, x3+x4
	return 4 * x0, 4*d12 + 2*d34 + 4*x5, -s34 - 4*s12 - 5*x0, -d12 - 2*d34 - 5*x5, x0 + s12 + s34, x5
}

// winogradInputAdjoint4 adds B V Bᵀ, for the 6×6 V in column l of src (36
// rows of lds), to the 6×6 block at dst[off[l]:] (rows stride apart), for
// each l in order.
func winogradInputAdjoint4(dst []float32, stride int, off []int, src []float32, lds int) {
	for l, o := range off {
		// W = B V, column j of V (rows j, j+6, …) at a time.
		var wm [6][6]float32
		for j := range 6 {
			wm[0][j], wm[1][j], wm[2][j], wm[3][j], wm[4][j], wm[5][j] = b4(src[j*lds+l], src[(6+j)*lds+l],
				src[(12+j)*lds+l], src[(18+j)*lds+l], src[(24+j)*lds+l], src[(30+j)*lds+l])
		}
		for a := range wm {
			r := (*[6]float32)(dst[o+a*stride:])
			y0, y1, y2, y3, y4, y5 := b4(wm[a][0], wm[a][1], wm[a][2], wm[a][3], wm[a][4], wm[a][5])
			r[0] += y0
			r[1] += y1
			r[2] += y2
			r[3] += y3
			r[4] += y4
			r[5] += y5
		}
	}
}
