// Package blocked is the cache-blocked single-precision matrix product that
// packages avx512 and avx2 run their assembly micro-kernels in: the loops,
// the packing and the buffers, once, for any register tile.
//
// The product is the classic blocked algorithm, with less packing: a
// register-tile micro-kernel multiplies a panel of MR rows of A by a panel
// of NR (or Narrow) columns of B, over blocks of KC steps that keep the
// panel of B in the level-1 cache. The kernels read A in place, whatever its
// transpose (they take a byte stride for each direction), and B in place
// unless it is transposed; a transposed B is packed through a T×T vector
// transpose. Only the panels at the edges (and A, when alpha ≠ 1) are
// copied, zero-filled. Each call runs on the calling goroutine alone;
// package kernel runs several at once.
package blocked

import (
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// MicroKernel multiplies an MR×k block of A by k rows of B into C: C = A·B
// (add = false) or C += A·B (add = true). Element (r, p) of A lies r·rs +
// p·ks bytes past a; row p of B lies p·bs bytes past b (a packed panel, or
// columns of a row-major matrix); C is row-major with ldc floats to a row;
// k ≥ 1.
type MicroKernel func(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool)

// Transpose writes the transpose of the T×T block at src, whose rows are ss
// bytes apart, to dst, with rows ds bytes apart.
type Transpose func(dst *float32, ds int, src *float32, ss int)

// Driver is one register tile's product: its kernels, its cache blocks and
// its packing buffers. Its methods are safe for concurrent use.
type Driver struct {
	MR, NR int // the wide kernel's tile
	Narrow int // columns of the narrow kernel's tile: the narrowest product that fills one
	T      int // the side of Transpose's block; NR is a multiple of it
	// KC is the depth of a block: a KC×NR panel of B stays in the level-1
	// cache while an MC×KC block of A streams from level 2; NC columns of
	// B are packed at a time (when B is transposed).
	KC, MC, NC int

	Wide, NarrowKernel MicroKernel
	Transpose          Transpose

	free struct {
		sync.Mutex
		list []*buffers
	}
}

// buffers are one call's packing space.
type buffers struct {
	a, b []float32
	tile []float32 // MR×NR
}

// getBuffers returns the buffers of a call that has returned, or new ones:
// the list grows to the most calls that ever ran at once and never shrinks,
// so that calls allocate nothing after the first few (a sync.Pool would drop
// its buffers at every garbage collection).
func (d *Driver) getBuffers() *buffers {
	d.free.Lock()
	defer d.free.Unlock()
	if n := len(d.free.list); n > 0 {
		b := d.free.list[n-1]
		d.free.list = d.free.list[:n-1]
		return b
	}
	return &buffers{a: aligned(d.MC * d.KC), b: aligned(d.KC * d.NC), tile: make([]float32, d.MR*d.NR)}
}

func (d *Driver) putBuffers(b *buffers) {
	d.free.Lock()
	d.free.list = append(d.free.list, b)
	d.free.Unlock()
}

// aligned returns n floats starting on a 64-byte boundary.
func aligned(n int) []float32 {
	s := make([]float32, n+16)
	off := 0
	for uintptr(unsafe.Pointer(unsafe.SliceData(s[off:])))%64 != 0 {
		off++
	}
	return s[off : off+n : off+n]
}

// Sgemm is a kernel package's blas.Float32 Sgemm: C = alpha * op(A) *
// op(B) + beta * C for row-major matrices, with gonum's checks and panics
// for invalid arguments, on d's kernels if run (the processor has them),
// and on gonum's product otherwise or where there is nothing to multiply.
func (d *Driver) Sgemm(run bool, tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var g gonum.Implementation
	// gonum's checks: with alpha = 0 and beta = 1 gonum's Sgemm validates
	// every argument and returns without touching c.
	g.Sgemm(tA, tB, m, n, k, 0, a, lda, b, ldb, 1, c, ldc)
	if !run || m == 0 || n == 0 || alpha == 0 || k == 0 {
		g.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	d.Multiply(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Multiply computes C = alpha * op(A) * op(B) + beta * C for row-major
// matrices, with op(A) m×k, op(B) k×n and C m×n, on valid arguments with m,
// n, k ≥ 1 and alpha ≠ 0 (the caller checks them, as gonum's Sgemm does).
func (d *Driver) Multiply(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 0 && beta != 1 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
	p := product{d: d, a: a, lda: lda, transA: tA != blas.NoTrans, direct: alpha == 1,
		b: b, ldb: ldb, transB: tB != blas.NoTrans, c: c, ldc: ldc}
	for jc := 0; jc < n; jc += d.NC {
		nb := min(d.NC, n-jc)
		for pc := 0; pc < k; pc += d.KC {
			kb := min(d.KC, k-pc)
			if p.transB {
				d.packB(p.bufs().b, b, ldb, true, pc, jc, kb, nb)
			} else if cols := d.rest(nb); cols != 0 {
				// Only a last panel of fewer than Narrow columns (or fewer
				// than NR, without the Narrow a narrow panel takes) is
				// packed and zero-filled; the kernels read full panels in
				// place.
				d.packB(p.bufs().b, b, ldb, false, pc, jc+nb-cols, kb, cols)
			}
			add := beta != 0 || pc > 0
			for ic := 0; ic < m; ic += d.MC {
				mb := min(d.MC, m-ic)
				if !p.direct {
					d.packA(p.bufs().a, a, lda, p.transA, ic, pc, mb, kb, alpha)
				} else if rows := mb % d.MR; rows != 0 {
					// Only a last panel of fewer than MR rows is packed (and
					// zero-filled); the kernel reads full panels in place.
					d.packA(p.bufs().a, a, lda, p.transA, ic+mb-rows, pc, rows, kb, 1)
				}
				p.macro(ic, jc, pc, mb, nb, kb, add)
			}
		}
	}
	if p.buf != nil {
		d.putBuffers(p.buf)
	}
}

// bufs returns the call's packing buffers, taking them at the first need: a
// product whose panels are all read in place takes none, and so never
// touches the lock that the goroutines' calls share, whose cache line
// otherwise crosses between the cores at every small product of a batch-1
// pass (All-CNN-C: batch-1 inference −1.5%, guided maps −1.4%, medians of
// 2000 pairs of passes alternating the two ways; a profile of many small
// products had put 7% of their time in the lock).
func (p *product) bufs() *buffers {
	if p.buf == nil {
		p.buf = p.d.getBuffers()
	}
	return p.buf
}

// product is one call's operands.
type product struct {
	d      *Driver
	a      []float32
	lda    int
	transA bool
	// direct: the kernel reads A in place (alpha = 1), and only a last
	// panel of fewer than MR rows is packed, at the start of buf.a.
	direct bool
	b      []float32
	ldb    int
	// transB: B is packed; else the kernels read it in place, and only the
	// last rest(nb) columns are packed, at the start of buf.b.
	transB bool
	c      []float32
	ldc    int
	buf    *buffers // nil until bufs is first called
}

// macro multiplies the mb×kb block of op(A) at (ic, pc), packed or in place,
// by the kb×nb block of B at (pc, jc) into C at (ic, jc), tile by tile.
func (p *product) macro(ic, jc, pc, mb, nb, kb int, add bool) {
	d := p.d
	mr, nr := d.MR, d.NR
	for jr := 0; jr < nb; {
		// The panel of B: NR columns packed (a transposed B), NR or Narrow
		// columns in place, or the last rest(nb) columns packed.
		cols, kern, narrow := min(nr, nb-jr), d.Wide, false
		var bp *float32
		bs := 4 * nr
		switch {
		case p.transB:
			bp = &p.buf.b[jr*kb]
		case nb-jr == d.rest(nb):
			// Fewer than Narrow columns take the narrow kernel on the
			// packed panel (it reads the first Narrow floats of each
			// row): 36 columns cost 32 + 16, not 32 + 32.
			bp = &p.buf.b[0]
			kern = d.NarrowKernel
		case cols < nr:
			cols, kern, narrow = d.Narrow, d.NarrowKernel, true
			fallthrough
		default:
			bp, bs = &p.b[pc*p.ldb+jc+jr], 4*p.ldb
		}
		full := cols == nr || narrow // every column of the tile is in C
		for ir := 0; ir < mb; ir += mr {
			rows := min(mr, mb-ir)
			var ap *float32
			rs, ks := 4, 4*mr
			switch {
			case !p.direct:
				ap = &p.buf.a[ir*kb]
			case rows < mr:
				ap = &p.buf.a[0]
			case p.transA:
				// op(A)[i][q] = a[q·lda + i]
				ap, ks = &p.a[pc*p.lda+ic+ir], 4*p.lda
			default:
				ap, rs, ks = &p.a[(ic+ir)*p.lda+pc], 4*p.lda, 4
			}
			ct := (ic+ir)*p.ldc + jc + jr
			if rows == mr && full {
				kern(kb, ap, rs, ks, bp, bs, &p.c[ct], p.ldc, add)
				continue
			}
			// A partial tile: multiply into the scratch tile, then copy the
			// part that exists.
			tile := p.bufs().tile
			kern(kb, ap, rs, ks, bp, bs, &tile[0], nr, false)
			for i := range rows {
				dst := p.c[ct+i*p.ldc : ct+i*p.ldc+cols]
				src := tile[i*nr : i*nr+cols]
				if add {
					for j, v := range src {
						dst[j] += v
					}
				} else {
					copy(dst, src)
				}
			}
		}
		jr += cols
	}
}

// rest is how many of nb columns of a B read in place go packed: those past
// the panels of NR columns and the one of Narrow that fits after them.
func (d *Driver) rest(nb int) int {
	r := nb % d.NR
	if r >= d.Narrow {
		r -= d.Narrow
	}
	return r
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into panels of NR columns, each
// panel kb rows of NR floats, zero-filling the columns past nb.
func (d *Driver) packB(dst, b []float32, ldb int, trans bool, pc, jc, kb, nb int) {
	nr, t := d.NR, d.T
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : jr*kb+kb*nr]
		cols := min(nr, nb-jr)
		if !trans {
			for p := range kb {
				row := b[(pc+p)*ldb+jc+jr:]
				out := panel[p*nr : p*nr+nr]
				copy(out, row[:cols])
				clear(out[cols:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: a full panel goes T×T blocks at a time
		// through the vector transpose, the rest float by float.
		p0 := 0
		if cols == nr {
			for ; p0+t <= kb; p0 += t {
				for h := 0; h < nr; h += t {
					d.Transpose(&panel[p0*nr+h], 4*nr, &b[(jc+jr+h)*ldb+pc+p0], 4*ldb)
				}
			}
		} else {
			clear(panel)
		}
		for j := range cols {
			col := b[(jc+jr+j)*ldb+pc:]
			col = col[:kb]
			for p := p0; p < kb; p++ {
				panel[p*nr+j] = col[p]
			}
		}
	}
}

// packA copies alpha·op(A)[ic:ic+mb, pc:pc+kb] into panels of MR rows, each
// panel kb columns of MR floats, zero-filling the rows past mb.
func (d *Driver) packA(dst, a []float32, lda int, trans bool, ic, pc, mb, kb int, alpha float32) {
	mr := d.MR
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kb : ir*kb+kb*mr]
		rows := min(mr, mb-ir)
		if rows < mr {
			clear(panel)
		}
		if trans {
			// op(A)[i][p] = a[p*lda+i]: rows of a are columns of the panel.
			for p := range kb {
				src := a[(pc+p)*lda+ic+ir:]
				src = src[:rows]
				out := panel[p*mr : p*mr+rows]
				for i, v := range src {
					out[i] = alpha * v
				}
			}
			continue
		}
		for i := range rows {
			src := a[(ic+ir+i)*lda+pc:]
			src = src[:kb]
			for p, v := range src {
				panel[p*mr+i] = alpha * v
			}
		}
	}
}
