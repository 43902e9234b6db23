package kernel

import "github.com/allcnn/allcnn/kernel/internal/engine"

// Conv2D is a 2-D convolution (cross-correlation, as in every deep-learning
// framework) with a square kernel, equal stride and zero padding on both
// axes, and a bias per output channel. Weights are [out][in][k][k].
//
// Forward lowers a group of examples to one matrix with im2col (the patch of
// output pixel p of example j is column j·P+p) and multiplies it by the
// weights with one GEMM; a group is one example where that makes a product
// wide enough for a BLAS to run near peak, several on the paper's 6×6 and
// 8×8 upper maps. The groups of a batch are spread over the kernel's
// goroutines (Options.Threads), each with its own buffers, so that the
// lowering, the product and the write-back of different examples overlap.
// A group of one example multiplies straight into the output tensor, and a
// 1×1 convolution with stride 1 multiplies the input itself: neither copies.
// Backward uses the transposed products and col2im (the adjoint of im2col).
type Conv2D struct {
	spec                 LayerSpec
	InC, OutC, K, S, Pad int
	Weight, Bias         *Param

	x, y, dx *Tensor
	work     []convWork // one per goroutine

	eng *engine.Engine // how it computes (Options)

	// Winograd F(m×m, 3×3) for 3×3, stride-1 layers where it pays (see
	// internal/engine/winograd.go): tiles holds the runners of the forward
	// pass and the weight gradient by tile size (F(2×2), F(4×4)), made as
	// passes need them (inference may take F(4×4) where training and the
	// weight gradient take F(2×2): engine.ForwardTile), and wino is the
	// last forward pass's, whose U the input gradient reads as its adjoint;
	// winoData computes the input gradient where it is not the adjoint
	// (its map may want another tile size). Build shares the scratch
	// buffers among a net's layers.
	tiles          [2]*engine.Winograd
	wino, winoData *engine.Winograd
	scratch        *engine.WinogradScratch
	// shift multiplies shifted views of the input, one product per tap,
	// where that beats im2col (engine/shift.go).
	shift *engine.Shift
	// frozen: the net's weights stay as they are (Net.Freeze).
	frozen bool
}

// freeze passes Net.Freeze's promise (on) or its end to the layer's
// convolutions, and to those it makes later.
func (l *Conv2D) freeze(on bool) {
	l.frozen = on
	for _, w := range []*engine.Winograd{l.tiles[0], l.tiles[1], l.winoData} {
		if w != nil {
			w.Freeze(on)
		}
	}
	if l.shift != nil {
		l.shift.Freeze(on)
	}
}

// convWork is one goroutine's buffers: the lowered input (or its gradient),
// the product of a group (when it must be scattered to several examples),
// and partial parameter gradients (for goroutines other than the first).
type convWork struct {
	col, out, dw, db []float32
	phase            []float32 // phase planes of a strided lowering (phase.go)
	dirty            bool      // dw and db hold sums not yet added to the Param
}

// minCols is the fewest product columns a group aims for: below it, a BLAS
// spends more time packing than multiplying.
const minCols = 256

// NewConv2D makes a convolution layer with zero weights.
func NewConv2D(name string, in, out, k, stride, pad int) *Conv2D {
	if stride == 0 {
		stride = 1
	}
	return &Conv2D{
		spec: LayerSpec{Type: TypeConv, Name: name, Out: out, Kernel: k, Stride: stride, Pad: pad},
		InC:  in, OutC: out, K: k, S: stride, Pad: pad,
		Weight: newParam(name+".weight", out, in, k, k),
		Bias:   newParam(name+".bias", out),
		eng:    defaultEngine,
	}
}

func (l *Conv2D) Spec() LayerSpec  { return l.spec }
func (l *Conv2D) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// convGeom is the geometry of one call: output size, pixels per example,
// rows of im2col, examples per group, goroutines over groups (outer) and
// within a group (inner).
type convGeom struct {
	n, h, w, oh, ow, p, kk, group int
	outer, inner                  int
	direct                        bool // a 1×1, stride-1, unpadded convolution: im2col is the identity
}

func (l *Conv2D) geom(x *Tensor) convGeom {
	g := convGeom{n: x.N(), h: x.H(), w: x.W()}
	g.oh, g.ow = ConvOut(g.h, l.K, l.S, l.Pad), ConvOut(g.w, l.K, l.S, l.Pad)
	g.p, g.kk = g.oh*g.ow, l.InC*l.K*l.K
	g.direct = l.K == 1 && l.S == 1 && l.Pad == 0
	nw := l.eng.Threads()
	g.group = max(1, min((minCols+g.p-1)/g.p, l.eng.ChunkFloats()/(g.kk*g.p), (g.n+nw-1)/nw))
	groups := (g.n + g.group - 1) / g.group
	g.outer = min(nw, groups)
	g.inner = max(1, nw/g.outer)
	return g
}

// bandCols is the fewest output pixels a goroutine's band of rows may
// have: narrower products waste most of the BLAS's register tile.
const bandCols = 32

// bands reports whether a forward pass splits its one example into bands
// of output rows (forwardBands) rather than splitting the lowering by
// channels and the product by columns or rows.
func (g convGeom) bands() bool {
	return g.n == 1 && g.inner > 1 && !g.direct && g.p >= bandCols*g.inner
}

// forwardBands is the forward pass of one example split into bands of
// output rows, one per goroutine: each lowers its band (every input
// channel, the input rows that band reads) and multiplies it into the
// band's columns of the output, so that what a core lowers, it multiplies,
// and what it writes, the same core lowers for the next layer. The cores of
// a cloud host can be far apart (a cache line took 250 ns each way between
// this project's two): lowering split by channels and multiplying split by
// columns sent most of the lowered matrix from one core to the other.
func (l *Conv2D) forwardBands(x *Tensor, g convGeom, rectify bool) {
	if len(l.work) < g.inner {
		l.work = append(l.work, make([]convWork, g.inner-len(l.work))...)
	}
	src, out := x.Example(0), l.y.Example(0)
	engine.Team(g.inner, func(w, nw int) {
		y0, y1 := engine.Span(g.oh, w, nw, 1)
		if y0 == y1 {
			return
		}
		wk := &l.work[w]
		cols := (y1 - y0) * g.ow
		if len(wk.col) < g.kk*cols {
			wk.col = make([]float32, g.kk*g.p) // the most any band takes
		}
		col := wk.col[:g.kk*cols]
		if l.S > 1 {
			if n := engine.PhaseFloats(l.InC, g.h, g.w, l.S); len(wk.phase) < n {
				wk.phase = make([]float32, n)
			}
			l.eng.Im2colPhaseRows(src, 0, l.InC, g.h, g.w, l.K, l.S, l.Pad, y0, y1, g.ow, col, cols, 0, wk.phase)
		} else {
			engine.Im2colRows(src, 0, l.InC, g.h, g.w, l.K, l.S, l.Pad, y0, y1, g.ow, col, cols, 0)
		}
		l.eng.GemmBias(1, false, false, l.OutC, cols, g.kk, l.Weight.Data, g.kk, col, cols, l.Bias.Data, rectify, out[y0*g.ow:], g.p)
	})
}

// buffers sizes each goroutine's buffers for the geometry.
func (l *Conv2D) buffers(g convGeom, params bool) {
	if len(l.work) < g.outer {
		l.work = append(l.work, make([]convWork, g.outer-len(l.work))...)
	}
	cols := g.group * g.p
	for w := range l.work[:g.outer] {
		wk := &l.work[w]
		if len(wk.col) < g.kk*cols {
			wk.col = make([]float32, g.kk*cols)
		}
		if n := engine.PhaseFloats(l.InC, g.h, g.w, l.S); l.S > 1 && len(wk.phase) < n {
			wk.phase = make([]float32, n)
		}
		if g.group > 1 && len(wk.out) < l.OutC*cols {
			wk.out = make([]float32, l.OutC*cols)
		}
		if params && w > 0 && len(wk.dw) < len(l.Weight.Grad) {
			wk.dw = make([]float32, len(l.Weight.Grad))
			wk.db = make([]float32, len(l.Bias.Grad))
		}
	}
}

// groups calls f(w, n0, nb) for every group of examples [n0, n0+nb), the
// groups spread over g.outer goroutines, w being the goroutine's index.
func (g convGeom) groups(f func(w, n0, nb int)) {
	engine.Team(g.outer, func(w, nw int) {
		for n0 := w * g.group; n0 < g.n; n0 += nw * g.group {
			f(w, n0, min(g.group, g.n-n0))
		}
	})
}

// lower writes examples [n0, n0+nb) of x as im2col columns of wk.col (kk ×
// nb·P) and returns them with its leading dimension; a direct convolution of
// one example returns the example itself.
func (l *Conv2D) lower(x *Tensor, g convGeom, wk *convWork, n0, nb int) ([]float32, int) {
	col := wk.col
	cols := nb * g.p
	if g.direct {
		if nb == 1 {
			return x.Example(n0), g.p
		}
		return gather(x, l.InC, g.p, n0, nb, col), cols
	}
	col = col[:g.kk*cols]
	for j := range nb {
		l.im2col(x.Example(n0+j), g, col, cols, j*g.p, wk.phase)
	}
	return col, cols
}

// im2col lowers one example, splitting its channels over g.inner goroutines.
// A strided convolution lowers through phase planes (engine/phase.go):
// 44% faster on All-CNN-C's conv3, 13% on conv6 (BenchmarkIm2col). Its
// adjoint stays col2im, which the planes made slower.
func (l *Conv2D) im2col(x []float32, g convGeom, col []float32, ld, off int, phase []float32) {
	engine.Team(min(g.inner, l.InC), func(w, nw int) {
		c0, c1 := engine.Span(l.InC, w, nw, 1)
		if l.S > 1 {
			l.eng.Im2colPhase(x, c0, c1, g.h, g.w, l.K, l.S, l.Pad, g.oh, g.ow, col, ld, off, phase)
			return
		}
		engine.Im2col(x, c0, c1, g.h, g.w, l.K, l.S, l.Pad, g.oh, g.ow, col, ld, off)
	})
}

// gather copies examples [n0, n0+nb) of t (C×P each) into the group layout
// C × (nb·P) of buf; scatter is its inverse.
func gather(t *Tensor, c, p, n0, nb int, buf []float32) []float32 {
	cols := nb * p
	buf = buf[:c*cols]
	for j := range nb {
		src := t.Example(n0 + j)
		for ch := 0; ch < c; ch++ {
			copy(buf[ch*cols+j*p:ch*cols+(j+1)*p], src[ch*p:(ch+1)*p])
		}
	}
	return buf
}

func scatter(buf []float32, c, p, n0, nb int, t *Tensor) {
	cols := nb * p
	for j := range nb {
		dst := t.Example(n0 + j)
		for ch := 0; ch < c; ch++ {
			copy(dst[ch*p:(ch+1)*p], buf[ch*cols+j*p:ch*cols+(j+1)*p])
		}
	}
}

// tiled returns the runner of tile m (2 or 4) for the forward pass or the
// weight gradient (made at its first use), or nil where im2col is faster.
func (l *Conv2D) tiled(g convGeom, m int) *engine.Winograd {
	return l.winograd(&l.tiles[m/4], g, m)
}

// winograd returns the Winograd runner of a pass with output tile m (made
// or remade for that tile size), or nil where im2col is faster.
func (l *Conv2D) winograd(w **engine.Winograd, g convGeom, m int) *engine.Winograd {
	if !l.eng.Winograd() || !engine.WinogradOK(l.K, l.S, l.Pad) || !engine.WinogradPays(l.InC, g.n, g.oh, g.ow) {
		return nil
	}
	if l.scratch == nil {
		l.scratch = new(engine.WinogradScratch)
	}
	if *w == nil || (*w).Tile() != m {
		*w = l.eng.NewWinograd(m, l.InC, l.OutC, l.Pad, l.scratch)
		(*w).Freeze(l.frozen)
	}
	return *w
}

// shifted returns the shifted-view convolution (engine/shift.go) where it
// beats im2col for this geometry, whatever the batch size, else nil.
func (l *Conv2D) shifted(g convGeom) *engine.Shift {
	if !l.eng.Shift() || !engine.ShiftPays(l.InC, l.K, l.S, l.Pad, g.oh, g.ow, g.w) {
		return nil
	}
	if l.shift == nil {
		l.shift = l.eng.NewShift(l.InC, l.OutC, l.K, l.Pad)
		l.shift.Freeze(l.frozen)
	}
	return l.shift
}

func (l *Conv2D) Forward(x *Tensor, train bool) *Tensor { return l.forward(x, train, false) }

// forward is Forward, with the output rectified if rectify: a net whose
// plain rectifier follows has the convolution apply max(·, 0) to each
// group's output right after its product, while it is in cache.
func (l *Conv2D) forward(x *Tensor, train, rectify bool) *Tensor {
	g := l.geom(x)
	l.x = x
	l.y = reuse(l.y, g.n, l.OutC, g.oh, g.ow)
	// Training keeps the tile of its weight gradient (ForwardTile).
	m := engine.WinogradTile(min(g.oh, g.ow))
	if !train {
		m = l.eng.ForwardTile(min(g.oh, g.ow))
	}
	l.wino = l.tiled(g, m)
	if w := l.wino; w != nil {
		w.Forward(maps(x), l.Weight.Data, l.Bias.Data, maps(l.y), !train, rectify)
		return l.y
	}
	if s := l.shifted(g); s != nil {
		s.Forward(x.Data, g.n, g.h, g.w, l.Weight.Data, l.Bias.Data, rectify, l.y.Data)
		return l.y
	}
	if g.bands() {
		l.forwardBands(x, g, rectify)
		return l.y
	}
	l.buffers(g, false)
	g.groups(func(w, n0, nb int) {
		wk := &l.work[w]
		col, ld := l.lower(x, g, wk, n0, nb)
		cols := nb * g.p
		out, ldc := l.y.Example(n0), g.p
		if nb > 1 {
			out, ldc = wk.out[:l.OutC*cols], cols
		}
		l.eng.GemmBias(g.inner, false, false, l.OutC, cols, g.kk, l.Weight.Data, g.kk, col, ld, l.Bias.Data, rectify, out, ldc)
		if nb > 1 {
			scatter(out, l.OutC, g.p, n0, nb, l.y)
		}
	})
	return l.y
}

func (l *Conv2D) Backward(dy *Tensor, ps Pass) *Tensor {
	dx, _ := l.backward(dy, ps, nil)
	return dx
}

// backward is Backward, with r (if not nil), the backward pass of a plain
// rectifier below the layer, applied to the input gradient by the
// goroutine that writes each channel, right after it; rectified reports
// whether it was (the paths that write dx in another order leave it to
// the rectifier's own pass).
func (l *Conv2D) backward(dy *Tensor, ps Pass, r *engine.Rectifier) (dx *Tensor, rectified bool) {
	x := l.x
	g := l.geom(x)
	if ps.Input {
		l.dx = reuse(l.dx, x.Shape...)
	}
	// The runner of the forward pass before it (its tile, and its U that
	// the adjoint input gradient reads); nil where that pass did not take
	// Winograd on this geometry.
	if w := l.wino; w != nil {
		if ps.Params {
			l.tiled(g, engine.WinogradTile(min(g.oh, g.ow))).BackwardWeights(maps(x), maps(dy), l.Weight.Grad, l.Bias.Grad)
		}
		if !ps.Input {
			return nil, false
		}
		// Without weight gradients (a saliency map) the weights stay as
		// they are between calls: keep U (U′).
		if w.AdjointOK() {
			// The forward pass's adjoint, on its U (engine/winograd_adjoint.go).
			w.BackwardDataAdjoint(maps(dy), l.Weight.Data, maps(l.dx), !ps.Params, r)
			return l.dx, r != nil
		}
		l.winograd(&l.winoData, g, engine.WinogradTile(min(g.h, g.w))).BackwardData(maps(dy), l.Weight.Data, maps(l.dx), !ps.Params)
		return l.dx, false
	}
	// The input gradient by shifted views where the forward pass would take
	// them; the weight gradient stays with im2col.
	input := ps.Input
	if s := l.shifted(g); s != nil && input {
		s.BackwardData(dy.Data, g.n, g.h, g.w, l.Weight.Data, l.dx.Data, r)
		input, rectified = false, r != nil
	}
	if !ps.Params && !input {
		if !ps.Input {
			return nil, false
		}
		return l.dx, rectified
	}
	// col2im writes each channel of dx in one goroutine; the direct
	// products write it by columns.
	if g.direct || !input {
		r = nil
	}
	l.buffers(g, ps.Params)
	g.groups(func(w, n0, nb int) {
		wk := &l.work[w]
		cols := nb * g.p
		d, ldd := dy.Example(n0), g.p
		if nb > 1 {
			d, ldd = gather(dy, l.OutC, g.p, n0, nb, wk.out), cols
		}
		if ps.Params {
			// dW += dy·colᵀ, db += Σ dy, into the Param for the first
			// goroutine and into its own sums for the others.
			dw, db := l.Weight.Grad, l.Bias.Grad
			beta := float32(1)
			if w > 0 {
				dw, db = wk.dw, wk.db
				if !wk.dirty {
					beta = 0
					zero(db)
					wk.dirty = true
				}
			}
			col, ld := l.lower(x, g, wk, n0, nb)
			l.eng.GemmSplit(g.inner, false, true, l.OutC, g.kk, cols, 1, d, ldd, col, ld, beta, dw, g.kk)
			for o := range db {
				var s float32
				for _, v := range d[o*ldd : o*ldd+cols] {
					s += v
				}
				db[o] += s
			}
		}
		if input {
			// dcol = Wᵀ·dy, then col2im back to the input layout; a direct
			// convolution of one example writes the gradient in place.
			if g.direct && nb == 1 {
				l.eng.GemmSplit(g.inner, true, false, g.kk, cols, l.OutC, 1, l.Weight.Data, g.kk, d, ldd, 0, l.dx.Example(n0), g.p)
				return
			}
			col := wk.col[:g.kk*cols]
			if g.direct {
				l.eng.GemmSplit(g.inner, true, false, g.kk, cols, l.OutC, 1, l.Weight.Data, g.kk, d, ldd, 0, col, cols)
				for j := range nb {
					dst := l.dx.Example(n0 + j)
					for ch := 0; ch < l.InC; ch++ {
						copy(dst[ch*g.p:(ch+1)*g.p], col[ch*cols+j*g.p:ch*cols+(j+1)*g.p])
					}
				}
				return
			}
			// Each goroutine multiplies the rows of dcol of its own input
			// channels and raises them into dx: its part of dcol never
			// leaves its core. (The product split by columns and col2im by
			// channels, each core read half its part of dcol from the
			// other's cache.)
			kk := l.K * l.K
			engine.Team(min(g.inner, l.InC), func(w, nw int) {
				c0, c1 := engine.Span(l.InC, w, nw, 1)
				if c0 == c1 {
					return
				}
				l.eng.Gemm(true, false, (c1-c0)*kk, cols, l.OutC, 1, l.Weight.Data[c0*kk:], g.kk, d, ldd, 0, col[c0*kk*cols:], cols)
				for j := range nb {
					engine.Col2im(col, c0, c1, g.h, g.w, l.K, l.S, l.Pad, g.oh, g.ow, cols, j*g.p, l.dx.Example(n0+j))
					lo := (n0 + j) * l.InC * g.h * g.w
					r.Apply(l.eng, l.dx.Data, lo+c0*g.h*g.w, lo+c1*g.h*g.w)
				}
			})
		}
	})
	if ps.Params {
		for w := 1; w < len(l.work); w++ {
			wk := &l.work[w]
			if !wk.dirty {
				continue
			}
			wk.dirty = false
			for i, v := range wk.dw {
				l.Weight.Grad[i] += v
			}
			for i, v := range wk.db {
				l.Bias.Grad[i] += v
			}
		}
	}
	if !ps.Input {
		return nil, false
	}
	return l.dx, rectified || r != nil
}
