package engine

import (
	"fmt"
	"unsafe"
)

// Winograd's minimal filtering for 3×3, stride-1 convolutions, F(m×m, 3×3)
// with m = 2 or 4 (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", CVPR 2016, §4): an m×m block of outputs of one input channel
// comes from its t×t input tile d (t = m+2) as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
//
// and the sum over input channels moves inside the brackets, so that for each
// of the t² positions ξ of the transformed tile the channel sum is one matrix
// product U[ξ] (out × in) · V[ξ] (in × tiles). F(4×4, 3×3) needs 36 products
// per 16 outputs where direct convolution needs 144: a quarter of the
// multiplications, plus the transforms.
//
// Every transform is a matrix product too, so that all the arithmetic runs
// in the BLAS (Go does not vectorise a scalar transform loop): a 2-D
// transform X ↦ Pᵀ X P of a tile is, on the tile as a vector of t² (or 3×3,
// or m×m) numbers, the Kronecker product Pᵀ⊗Pᵀ, and one GEMM applies it to
// every (channel, tile) at once. The only scalar work left is copying tiles
// between the NCHW tensors and the matrices (im2tile and tile2im below, the
// counterparts of im2col and col2im), in contiguous runs of t or m floats.
// On amd64 with AVX2 and FMA, F(4×4) instead fuses each copy with its
// transform (winograd_fused.go), which runs them several times faster.
//
// The three passes of a convolution layer:
//
//   - forward: y = conv(x, w) + b as above.
//   - input gradient: dx is the convolution of dy, padded by 2−pad, with
//     each kernel rotated by 180° and the channel axes swapped: the forward
//     algorithm with U′[ξ] = (G rot(g) Gᵀ)[ξ]ᵀ, where G rot(g) Gᵀ is G·g·Gᵀ
//     with the columns of G⊗G reversed (no rotated copy of the weights).
//   - weight gradient, by the chain rule through the forward algorithm:
//     dM = A dY Aᵀ for each output tile (dY zero where a tile overhangs the
//     output), dU[ξ] = Σ_tiles dM[ξ] · V[ξ]ᵀ (a product with k = tiles:
//     long and efficient), dW = Gᵀ dU G. This is exact, not an
//     approximation of the direct gradient.
//
// A batch is split into groups of examples, each group's tiles forming the
// columns of the products. The engine's goroutines (Config.Threads) share
// each group, splitting every step (unlike Conv2D, which gives each
// goroutine its own examples): one set of buffers instead of one per
// goroutine, and each goroutine reads only its share of U. On 2 cores shared
// with other work this measured 20% faster than a group per goroutine on
// 192 channels and from 5% faster to 20% slower on 96; the memory decided.

// WinogradOK reports whether a convolution can run as F(m×m, 3×3): a 3×3
// kernel with stride 1 and padding 0, 1 or 2 (the input gradient pads by
// 2−pad).
func WinogradOK(k, stride, pad int) bool {
	return k == 3 && stride == 1 && pad >= 0 && pad <= 2
}

// WinogradPays reports whether Winograd beats im2col for a convolution that
// WinogradOK accepts, with inC input channels and n·oh·ow output pixels per
// channel. Measured on All-CNN-C (BenchmarkWinograd, OpenBLAS): with 3
// input channels the t² products are too short and Winograd is 2–5× slower;
// at batch 1 on the 6×6 map it is 1.2–2× slower; on the 16×16 and 32×32 maps
// with 96 or 192 channels F(4×4) is 1.8–2.4× faster per core at batch 64
// and 1.4–2.4× faster at batch 1.
func WinogradPays(inC, n, oh, ow int) bool {
	return inC >= 16 && n*oh*ow >= 256
}

// WinogradTile returns the output tile m (2 or 4) for a pass whose output
// (the layer's output for forward and weight gradient, its input for the
// input gradient) is side×side: F(4×4) except on small maps that 4 does not
// divide, where F(2×2) wastes less (6×6: F(4×4) computes 8×8, and F(2×2) was
// 1.2–1.4× faster there; on the 8×8 input gradient F(4×4) was 1.3–1.5×
// faster).
func WinogradTile(side int) int {
	if side < 16 && side%4 != 0 {
		return 2
	}
	return 4
}

// ForwardTile returns the output tile m of a forward pass (and of the
// input gradient as its adjoint) whose output is side×side: WinogradTile's,
// except that with the fused F(4×4) transforms F(4×4) takes the maps that 4
// does not divide wherever it needs no more multiplications than F(2×2)
// (36/16 per output, times the padded tiles' share, against 16/4): on
// All-CNN-C's 6×6 conv7 at batch 64 they need as many, and the fused
// transforms and four tiles to an example (32 columns to a goroutine's
// product, against F(2×2)'s 36) made batch-64 inference 2.9–4.1% faster
// (two runs of 120 pairs of passes, two nets alternating, AVX-512 host).
// Training keeps WinogradTile's (Conv2D): with F(4×4) for its forward pass
// and input gradient a step was 2.4% slower, its weight gradient on F(2×2)
// (and 2.0% with all three on F(4×4)).
func (e *Engine) ForwardTile(side int) int {
	m := WinogradTile(side)
	if m == 4 || !e.fused {
		return m
	}
	pad := func(m int) float64 { // the padded tiles' share of the outputs
		t := float64((side + m - 1) / m * m)
		return float64(side*side) / (t * t)
	}
	if 36.0/16/pad(4) <= 16.0/4/pad(2) {
		return 4
	}
	return m
}

// Winograd runs the three passes of one 3×3, stride-1 convolution layer
// (weights [outC][inC][3][3], NCHW tensors) with F(m×m, 3×3).
type Winograd struct {
	e              *Engine
	tr             *winogradTransforms
	inC, outC, pad int
	weight         weightCopy // the weights of the last call
	s              *WinogradScratch
	geom           winogradGeom // of the last call (scratch: no allocation per call)

	// u holds U (U′ if uRot) for a pass with keepU, and uOK says it is
	// that of weight.
	u         []float32
	uOK, uRot bool
}

// Freeze tells w whether the weights of its calls may change (on false)
// or stay as they are until the next Freeze(false) (on true): frozen, w
// compares them with its copy once, at its next call, and not at the calls
// after, keeping what it derives from them. A caller that changes the
// weights while w is frozen gets results for the old ones.
func (w *Winograd) Freeze(on bool) { w.weight.freeze(on) }

// WinogradScratch holds the buffers of the passes: tiles and their
// transforms (a, b, c; how they are used depends on the pass), and the
// transformed weights U or U′ of one layer, or its weight gradient dU (u,
// t² × outC × inC). Layers that never run at the same time, such as those of
// one Net, may share one, so that a net holds these buffers once and not
// once per layer. After the first call with the largest shapes, no pass
// allocates.
type WinogradScratch struct {
	winogradBufs // a, b, pad and off
	c, u         []float32
	// more holds the buffers of goroutines 1, 2, … where each convolves
	// groups of its own (convolve).
	more []*winogradBufs
	// u holds U (rot false) or U′ (rot true) for owner's current weights;
	// owner is nil when u holds neither.
	owner *Winograd
	rot   bool
}

// winogradBufs are the buffers of one group's convolution: tiles and their
// transforms (a, b), and for the fused transforms (winograd_fused.go)
// padded planes (pads, one per goroutine: padOf) and tile offsets (off).
type winogradBufs struct {
	a, b []float32
	pads [][]float32
	off  []int
}

// NewWinograd prepares F(m×m, 3×3) (m = 2 or 4) for a layer with inC input
// and outC output channels and zero padding pad (0, 1 or 2) on each side,
// with buffers s (a new scratch if nil).
func (e *Engine) NewWinograd(m, inC, outC, pad int, s *WinogradScratch) *Winograd {
	if pad < 0 || pad > 2 {
		panic(fmt.Sprintf("kernel: Winograd convolution with padding %d (want 0, 1 or 2)", pad))
	}
	if s == nil {
		s = new(WinogradScratch)
	}
	return &Winograd{e: e, tr: newWinogradTransforms(m), inC: inC, outC: outC, pad: pad,
		weight: weightCopy{data: make([]float32, outC*inC*9)}, s: s}
}

// setWeights notes the weights of this call. The transformed weights are
// kept while the weights equal the last call's: comparing costs a fraction
// of transforming, and no caller can forget to say that they changed.
func (w *Winograd) setWeights(weight []float32) {
	if !w.weight.update(w.e, weight, "Winograd convolution") {
		return
	}
	w.uOK = false
	if w.s.owner == w {
		w.s.owner = nil
	}
}

// transformWeights returns U (rot false) or U′ (rot true), t² × outC·inC:
// entry ξ of every kernel's G g Gᵀ, of the kernel rotated by 180° for U′.
// One GEMM: U = (G⊗G) · Wᵀ with W as (outC·inC) × 9.
func (w *Winograd) transformWeights(rot, keepU bool) []float32 {
	s := w.s
	tt, kk := w.tr.t*w.tr.t, w.outC*w.inC
	gg := w.tr.gg
	if rot {
		gg = w.tr.ggRot
	}
	if keepU {
		w.u = grow(w.u, tt*kk)
		if !w.uOK || w.uRot != rot {
			w.e.GemmSplit(w.e.threads, false, true, tt, kk, 9, 1, gg, 9, w.weight.data, 9, 0, w.u, kk)
			w.uOK, w.uRot = true, rot
		}
		return w.u[:tt*kk]
	}
	s.u = grow(s.u, tt*kk)
	u := s.u[:tt*kk]
	if s.owner == w && s.rot == rot {
		return u
	}
	w.e.GemmSplit(w.e.threads, false, true, tt, kk, 9, 1, gg, 9, w.weight.data, 9, 0, u, kk)
	s.owner, s.rot = w, rot
	return u
}

// grow returns buf if it holds n floats, else a new slice of n.
func grow(buf []float32, n int) []float32 {
	if len(buf) < n {
		return make([]float32, n)
	}
	return buf
}

// Forward sets y = conv(x, weight) + bias. y must have the output shape
// (N, outC, H+2·pad−2, W+2·pad−2); it is overwritten.
//
// keepU keeps U in a buffer of w, transforming the weights again only when
// they change: for inference, where they do not, and a scratch shared with
// other layers would lose U between calls (measured at batch 1: the
// transform is 10–30% of a forward pass). It costs t²/9 times the weights'
// memory. Training changes the weights every step and need not set it.
// rectify applies max(·, 0) to each output channel right after writing it
// (a convolution's fused rectifier).
func (w *Winograd) Forward(x Maps, weight, bias []float32, y Maps, keepU, rectify bool) {
	w.setWeights(weight)
	u := w.transformWeights(false, keepU)
	w.convolve(x, w.inC, w.outC, w.pad, u, false, bias, rectify, y)
}

// BackwardData sets dx to the gradient of the loss with respect to the
// input, given dy, its gradient with respect to the output; dx has the
// input's shape and is overwritten. keepU keeps U′ as Forward's keepU keeps
// U: for saliency maps, where the weights do not change between calls (a
// profile of a guided map in Chromium put the transform and the weights'
// comparison at about 5 of its 38 ms; natively the change was within the
// host's noise).
func (w *Winograd) BackwardData(dy Maps, weight []float32, dx Maps, keepU bool) {
	w.setWeights(weight)
	u := w.transformWeights(true, keepU)
	// U′[ξ] is outC × inC: as the weights of a convolution from outC to
	// inC channels it is used transposed.
	w.convolve(dy, w.outC, w.inC, 2-w.pad, u, true, nil, false, dx)
}

// winogradGeom is the geometry of one pass: input size, channels, padding,
// output size, tiles per axis and per example, examples per group, and the
// goroutines that share each group's work.
type winogradGeom struct {
	n, h, w, cin, cout, pad int
	oh, ow, tilesY, tilesX  int
	p                       int // tiles per example
	group, nw               int
}

// setGeom fills w.geom for a pass over x (N×cin×h×w) with cout output
// channels and padding pad; perTile is the floats of buffers a group needs
// per tile, which the engine's ChunkFloats bounds.
func (w *Winograd) setGeom(x Maps, cin, cout, pad int, perTile int) *winogradGeom {
	m := w.tr.m
	g := &w.geom
	*g = winogradGeom{n: x.N, h: x.H, w: x.W, cin: cin, cout: cout, pad: pad, nw: w.e.threads}
	if x.C != cin {
		panic(fmt.Sprintf("kernel: Winograd convolution of %v, want %d channels", x, cin))
	}
	g.oh, g.ow = g.h+2*pad-2, g.w+2*pad-2
	if g.oh < 1 || g.ow < 1 {
		panic(fmt.Sprintf("kernel: Winograd convolution of %v with padding %d: no output", x, pad))
	}
	g.tilesY, g.tilesX = (g.oh+m-1)/m, (g.ow+m-1)/m
	g.p = g.tilesY * g.tilesX
	g.group = max(1, min(g.n, (w.e.minTiles+g.p-1)/g.p, w.e.chunkFloats/(perTile*g.p)))
	return g
}

// convolve sets y (N × cout × oh × ow) to the convolution of x (N × cin × h
// × w, padded by pad) with transformed weights u (t² × cout × cin, or t² ×
// cin × cout used transposed if transU), plus bias (none if nil). Per group
// of T tiles:
//
//	d  = im2tile(x)           (cin·T) × t²    buffer a
//	V  = (Bᵀ⊗Bᵀ) · dᵀ          t² × (cin·T)    buffer b
//	M[ξ] = U[ξ] · V[ξ]         t² × (cout·T)   buffer a
//	Yᵀ = Mᵀ · (Aᵀ⊗Aᵀ)ᵀ         (cout·T) × m²   buffer b
//	y  = tile2im(Yᵀ) + bias
//
// Where the batch has groups enough, each goroutine convolves groups of its
// own; otherwise the goroutines share each step of a group: the copies by
// channels, the transforms by columns or rows, the t² products by ξ. With
// the fused transforms (w.fused()), V comes straight from x and y straight
// from M.
func (w *Winograd) convolve(x Maps, cin, cout, pad int, u []float32, transU bool, bias []float32, rectify bool, y Maps) {
	m, t := w.tr.m, w.tr.t
	mm, tt := m*m, t*t
	perTile := tt*max(cin, cout) + max(tt*cin, mm*cout)
	g := w.setGeom(x, cin, cout, pad, perTile)
	if y.N != g.n || y.C != cout || y.H != g.oh || y.W != g.ow {
		panic(fmt.Sprintf("kernel: Winograd convolution of %v to %v, want output [%d %d %d %d]", x, y, g.n, cout, g.oh, g.ow))
	}
	w.groups(g, perTile, func(g *winogradGeom, bf *winogradBufs, n0, nb int) {
		w.convolveGroup(x, u, transU, bias, rectify, y, g, bf, n0, nb)
	})
}

// groups calls run for the groups of examples of a pass of geometry g
// (perTile floats of buffers a tile), each with the geometry and buffers
// it runs on. Where the batch makes a group of about minTiles/nw tiles for
// every goroutine, each runs groups of its own, on its own buffers, one
// goroutine a group: no core then reads what another wrote (V, M), and the
// cores of a cloud host can be far apart (a cache line took 250 ns each way
// between this project's two). The buffers come to what one group of
// minTiles takes. Otherwise the groups run one after another, and the
// goroutines share each step of each.
func (w *Winograd) groups(g *winogradGeom, perTile int, run func(g *winogradGeom, bf *winogradBufs, n0, nb int)) {
	s := w.s
	if g.nw > 1 {
		group := max(1, min(g.n, (w.e.minTiles/g.nw+g.p-1)/g.p, w.e.chunkFloats/g.nw/(perTile*g.p)))
		if groups := (g.n + group - 1) / group; groups >= g.nw {
			// Groups as equal as they can be, a whole number for each.
			per := (groups + g.nw - 1) / g.nw
			group = (g.n + per*g.nw - 1) / (per * g.nw)
			for len(s.more) < g.nw-1 {
				s.more = append(s.more, new(winogradBufs))
			}
			Team(g.nw, func(iw, nw int) {
				bf := &s.winogradBufs
				if iw > 0 {
					bf = s.more[iw-1]
				}
				one := *g // this goroutine's groups, on it alone
				one.group, one.nw = group, 1
				for n0 := iw * group; n0 < g.n; n0 += nw * group {
					run(&one, bf, n0, min(group, g.n-n0))
				}
			})
			return
		}
	}
	for n0 := 0; n0 < g.n; n0 += g.group {
		run(g, &s.winogradBufs, n0, min(g.group, g.n-n0))
	}
}

// products sets out[ξ] = op(U[ξ]) · in[ξ] for the t² matrices, split over
// up to nw goroutines by ξ: op(U[ξ]) is m × k (U[ξ] itself, rows ldu apart,
// or its transpose if transU), in[ξ] k × T and out[ξ] m × T, the ξ-th of
// each ldIn and ldOut floats apart.
func (w *Winograd) products(nw int, transU bool, m, k, T int, u []float32, ldu int, in []float32, ldIn int, out []float32, ldOut int) {
	tt := w.tr.t * w.tr.t
	Team(min(nw, tt), func(iw, nw int) {
		x0, x1 := Span(tt, iw, nw, 1)
		for xi := x0; xi < x1; xi++ {
			w.e.Gemm(transU, false, m, T, k, 1, u[xi*m*k:], ldu, in[xi*ldIn:], T, 0, out[xi*ldOut:], T)
		}
	})
}

// convolveGroup is convolve's work on examples [n0, n0+nb) (a group of g),
// on g.nw goroutines and the buffers bf.
func (w *Winograd) convolveGroup(x Maps, u []float32, transU bool, bias []float32, rectify bool, y Maps, g *winogradGeom, bf *winogradBufs, n0, nb int) {
	m, t := w.tr.m, w.tr.t
	mm, tt := m*m, t*t
	cin, cout, pad := g.cin, g.cout, g.pad
	T := nb * g.p
	// The fused transforms space the t² rows of V and M by winogradLd
	// (at most 32 floats more).
	bf.a = grow(bf.a, tt*(g.group*g.p*max(cin, cout)+32))
	bf.b = grow(bf.b, g.group*g.p*max(tt*cin, mm*cout)+tt*32)
	ldu := cin
	if transU {
		ldu = cout
	}
	ldv, ldm := cin*T, cout*T // the distances between V[ξ] and V[ξ+1], M[ξ] and M[ξ+1]
	if w.fused() {
		ldv, ldm = winogradLd(ldv), winogradLd(ldm)
	}
	v := bf.b[:tt*ldv]
	if w.fused() {
		w.fusedInput(x, n0, nb, g, bf, v, ldv)
	} else {
		d := bf.a[:cin*T*tt]
		Team(min(g.nw, cin), func(iw, nw int) {
			c0, c1 := Span(cin, iw, nw, 1)
			for j := range nb {
				im2tile(x.Example(n0+j), c0, c1, g.h, g.w, pad, m, t, g.tilesY, g.tilesX, d, T, j*g.p)
			}
		})
		w.e.GemmSplit(g.nw, false, true, tt, cin*T, tt, 1, w.tr.bb, tt, d, tt, 0, v, cin*T)
	}
	prod := bf.a[:tt*ldm]
	w.products(g.nw, transU, cout, cin, T, u, ldu, v, ldv, prod, ldm)
	if w.fused() {
		w.fusedOutput(prod, ldm, n0, nb, g, bf, bias, rectify, y)
		return
	}
	yt := bf.b[:cout*T*mm]
	Team(g.nw, func(iw, nw int) {
		r0, r1 := Span(cout*T, iw, nw, 16)
		if r0 < r1 {
			w.e.Gemm(true, true, r1-r0, mm, tt, 1, prod[r0:], cout*T, w.tr.aa, tt, 0, yt[r0*mm:], mm)
		}
	})
	Team(min(g.nw, cout), func(iw, nw int) {
		c0, c1 := Span(cout, iw, nw, 1)
		for j := range nb {
			out := y.Example(n0 + j)
			tile2im(yt, c0, c1, g.oh, g.ow, m, g.tilesY, g.tilesX, T, j*g.p, bias, out)
			if rectify {
				w.e.RectifyTo(out[c0*g.oh*g.ow:c1*g.oh*g.ow], out[c0*g.oh*g.ow:c1*g.oh*g.ow])
			}
		}
	})
}

// BackwardWeights adds to dWeight and dBias the gradients of the loss with
// respect to the weights and biases, given the forward input x and dy, the
// gradient with respect to the output. Per group of T tiles:
//
//	d  = im2tile(x)             (inC·T) × t²    buffer a
//	V  = (Bᵀ⊗Bᵀ) · dᵀ            t² × (inC·T)    buffer b
//	e  = output tiles of dy     (outC·T) × m²   buffer a
//	dM = (Aᵀ⊗Aᵀ)ᵀ · eᵀ           t² × (outC·T)   buffer c
//	dU[ξ] += dM[ξ] · V[ξ]ᵀ       t² × outC × inC  buffer u
//
// and finally dW += dUᵀ · (G⊗G). With the fused transforms (w.fused()), V
// comes straight from x and dM straight from dy.
func (w *Winograd) BackwardWeights(x, dy Maps, dWeight, dBias []float32) {
	m, t := w.tr.m, w.tr.t
	mm, tt := m*m, t*t
	cin, cout, kk := w.inC, w.outC, w.outC*w.inC
	g := w.setGeom(x, cin, cout, w.pad, max(tt*cin, mm*cout)+tt*cin+tt*cout)
	if dy.N != g.n || dy.C != cout || dy.H != g.oh || dy.W != g.ow {
		panic(fmt.Sprintf("kernel: Winograd weight gradient for input %v and output gradient %v", x, dy))
	}
	if g.n == 0 {
		return
	}
	s := w.s
	T := g.group * g.p
	s.a = grow(s.a, T*max(tt*cin, mm*cout))
	s.b = grow(s.b, tt*(cin*T+32)) // 32: see convolve
	s.c = grow(s.c, tt*(cout*T+32))
	s.u = grow(s.u, tt*kk)
	s.owner = nil // u holds dU now
	du := s.u[:tt*kk]
	for n0 := 0; n0 < g.n; n0 += g.group {
		nb := min(g.group, g.n-n0)
		T := nb * g.p
		ldv, ldm := cin*T, cout*T // as in convolve
		if w.fused() {
			ldv, ldm = winogradLd(ldv), winogradLd(ldm)
		}
		v := s.b[:tt*ldv]
		dm := s.c[:tt*ldm]
		if w.fused() {
			w.fusedInput(x, n0, nb, g, &s.winogradBufs, v, ldv)
			w.fusedGradOutput(dy, n0, nb, g, &s.winogradBufs, dm, ldm)
		} else {
			d := s.a[:cin*T*tt]
			Team(min(g.nw, cin), func(iw, nw int) {
				c0, c1 := Span(cin, iw, nw, 1)
				for j := range nb {
					im2tile(x.Example(n0+j), c0, c1, g.h, g.w, w.pad, m, t, g.tilesY, g.tilesX, d, T, j*g.p)
				}
			})
			w.e.GemmSplit(g.nw, false, true, tt, cin*T, tt, 1, w.tr.bb, tt, d, tt, 0, v, cin*T)
			e := s.a[:cout*T*mm]
			Team(min(g.nw, cout), func(iw, nw int) {
				c0, c1 := Span(cout, iw, nw, 1)
				for j := range nb {
					outTiles(dy.Example(n0+j), c0, c1, g.oh, g.ow, m, g.tilesY, g.tilesX, e, T, j*g.p)
				}
			})
			w.e.GemmSplit(g.nw, true, true, tt, cout*T, mm, 1, w.tr.aa, tt, e, mm, 0, dm, cout*T)
		}
		beta := float32(1)
		if n0 == 0 {
			beta = 0
		}
		Team(min(g.nw, tt), func(iw, nw int) {
			x0, x1 := Span(tt, iw, nw, 1)
			for xi := x0; xi < x1; xi++ {
				w.e.Gemm(false, true, cout, cin, T, 1, dm[xi*ldm:], T, v[xi*ldv:], T, beta, du[xi*kk:], cin)
			}
		})
	}
	Team(g.nw, func(iw, nw int) {
		r0, r1 := Span(kk, iw, nw, 16)
		if r0 < r1 {
			w.e.Gemm(true, false, r1-r0, 9, tt, 1, du[r0:], kk, w.tr.gg, 9, 1, dWeight[r0*9:], 9)
		}
	})
	// The bias gradient is Σ dy over examples and pixels, per channel.
	p := g.oh * g.ow
	Team(min(g.nw, cout), func(iw, nw int) {
		o0, o1 := Span(cout, iw, nw, 1)
		for n := range g.n {
			ex := dy.Example(n)
			for o := o0; o < o1; o++ {
				var s float32
				for _, v := range ex[o*p : (o+1)*p] {
					s += v
				}
				dBias[o] += s
			}
		}
	})
}

// floatBytes is s's memory as bytes, for bitwise comparisons: bytes.Equal
// runs on the runtime's vectorised memequal, 10× faster natively than
// comparing floats (1.8× in wasm), which made the weight check 5% of a
// batch-1 forward pass. Bitwise equality is what the cache needs: equal bits
// transform to equal bits (a float comparison also equates −0 with +0 and
// never a NaN with itself).
func floatBytes(s []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}

// Tile is the output tile m of w's F(m×m, 3×3).
func (w *Winograd) Tile() int { return w.tr.m }
