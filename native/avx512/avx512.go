// Package avx512 is a single-precision matrix multiply (Sgemm) written for
// x86-64 processors with AVX-512, behind gonum's blas.Float32 interface.
//
// The convolutions of package kernel spend most of their time in Sgemm. On a
// processor with AVX-512 this Sgemm runs 16 floats to an instruction, twice
// the width of the AVX2 kernels that OpenBLAS uses where its own AVX-512
// kernels are switched off (OPENBLAS_CORETYPE=Haswell, which some hosts set
// because older OpenBLAS releases compute wrong results on some newer
// processors). It needs no cgo, so a pure-Go build gets it too.
//
// The product is the classic blocked algorithm, with less packing: register-
// tile micro-kernels in assembly (12×32, and 12×16 for narrow products)
// multiply a panel of 12 rows of A by a panel of 32 (or 16) columns of B,
// over blocks of kc steps that keep the panel of B in the level-1 cache. The
// kernels read A in place, whatever its transpose (they take a byte stride
// for each direction), and B in place unless it is transposed; a transposed
// B is packed through a 16×16 vector transpose. Only the panels at the edges
// (and A, when alpha ≠ 1) are copied, zero-filled. Each call runs on the
// calling goroutine alone; package kernel runs several at once.
package avx512

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Micro-kernel tile and cache blocks. A 12×32 tile keeps 24 of the 32 vector
// registers as sums; a kc×32 panel of B (32 KiB) stays in the level-1 cache
// while the mc×kc block of A (96 KiB) streams from level 2.
const (
	mr = 12
	nr = 32
	kc = 256
	mc = 96
	nc = 1024
)

// MinColumns is the narrowest product (columns of C) that fills a
// micro-kernel's tile (12×16); narrower ones waste part of every tile.
const MinColumns = 16

// Implementation is gonum's pure-Go BLAS with Sgemm replaced by the AVX-512
// one where the processor has it (Available).
type Implementation struct {
	gonum.Implementation
}

// Available reports whether this processor and build run the AVX-512 Sgemm.
// Where they do not, Implementation's Sgemm is gonum's.
func Available() bool { return available }

// buffers are one call's packing space (1.1 MiB).
type buffers struct {
	a, b []float32
	tile [mr * nr]float32
}

// free holds the buffers of calls that have returned. It grows to the most
// calls that ever ran at once and never shrinks, so that calls allocate
// nothing after the first few (a sync.Pool would drop its buffers at every
// garbage collection).
var free struct {
	sync.Mutex
	list []*buffers
}

func getBuffers() *buffers {
	free.Lock()
	defer free.Unlock()
	if n := len(free.list); n > 0 {
		b := free.list[n-1]
		free.list = free.list[:n-1]
		return b
	}
	return &buffers{a: aligned(mc * kc), b: aligned(kc * nc)}
}

func putBuffers(b *buffers) {
	free.Lock()
	free.list = append(free.list, b)
	free.Unlock()
}

// aligned returns n floats starting on a 64-byte boundary.
func aligned(n int) []float32 {
	s := make([]float32, n+16)
	off := 0
	for addrOf(s[off:])%64 != 0 {
		off++
	}
	return s[off : off+n : off+n]
}

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// with op(A) m×k, op(B) k×n and C m×n, as gonum's Sgemm does, and panics
// with gonum's messages for the same invalid arguments.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// gonum's checks: with alpha = 0 and beta = 1 gonum's Sgemm validates
	// every argument and returns without touching c.
	impl.Implementation.Sgemm(tA, tB, m, n, k, 0, a, lda, b, ldb, 1, c, ldc)
	if !available || m == 0 || n == 0 || alpha == 0 || k == 0 {
		impl.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	multiply(kernels{kernel, kernel16}, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// microKernel is the signature of the micro-kernels.
type microKernel func(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, add bool)

// kernels are the 12×32 and 12×16 micro-kernels a product runs on.
type kernels struct{ wide, narrow microKernel }

// multiply is Sgemm on valid arguments, with m, n, k ≥ 1 and alpha ≠ 0, on
// the micro-kernels kern.
func multiply(kern kernels, tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 0 && beta != 1 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
	buf := getBuffers()
	defer putBuffers(buf)
	p := product{kern: kern, a: a, lda: lda, transA: tA != blas.NoTrans, direct: alpha == 1,
		b: b, ldb: ldb, transB: tB != blas.NoTrans, c: c, ldc: ldc, buf: buf}
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			if p.transB {
				packB(buf.b, b, ldb, true, pc, jc, kb, nb)
			} else if cols := rest(nb); cols != 0 {
				// Only a last panel of fewer than 16 columns (or fewer than
				// nr, without the 16 a narrow panel takes) is packed and
				// zero-filled; the kernels read full panels in place.
				packB(buf.b, b, ldb, false, pc, jc+nb-cols, kb, cols)
			}
			add := beta != 0 || pc > 0
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				if !p.direct {
					packA(buf.a, a, lda, p.transA, ic, pc, mb, kb, alpha)
				} else if rows := mb % mr; rows != 0 {
					// Only a last panel of fewer than mr rows is packed (and
					// zero-filled); the kernel reads full panels in place.
					packA(buf.a, a, lda, p.transA, ic+mb-rows, pc, rows, kb, 1)
				}
				p.macro(ic, jc, pc, mb, nb, kb, add)
			}
		}
	}
}

// product is one Sgemm call's operands.
type product struct {
	kern   kernels
	a      []float32
	lda    int
	transA bool
	// direct: the kernel reads A in place (alpha = 1), and only a last
	// panel of fewer than mr rows is packed, at the start of buf.a.
	direct bool
	b      []float32
	ldb    int
	// transB: B is packed; else the kernels read it in place, and only the
	// last rest(nb) columns are packed, at the start of buf.b.
	transB bool
	c      []float32
	ldc    int
	buf    *buffers
}

// macro multiplies the mb×kb block of op(A) at (ic, pc), packed or in place,
// by the packed kb×nb block of B into C at (ic, jc), tile by tile.
func (p *product) macro(ic, jc, pc, mb, nb, kb int, add bool) {
	buf := p.buf
	for jr := 0; jr < nb; {
		// The panel of B: nr columns packed (a transposed B), nr or 16
		// columns in place, or the last rest(nb) columns packed.
		cols, kern, narrow := min(nr, nb-jr), p.kern.wide, false
		bp, bs := &buf.b[jr*kb], 4*nr
		switch {
		case p.transB:
		case nb-jr == rest(nb):
			bp = &buf.b[0]
		case cols < nr:
			cols, kern, narrow = 16, p.kern.narrow, true
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
				ap = &buf.a[ir*kb]
			case rows < mr:
				ap = &buf.a[0]
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
			kern(kb, ap, rs, ks, bp, bs, &buf.tile[0], nr, false)
			for i := range rows {
				dst := p.c[ct+i*p.ldc : ct+i*p.ldc+cols]
				src := buf.tile[i*nr : i*nr+cols]
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
// the panels of nr columns and the one of 16 that fits after them.
func rest(nb int) int {
	r := nb % nr
	if r >= 16 {
		r -= 16
	}
	return r
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into panels of nr columns, each
// panel kb rows of nr floats, zero-filling the columns past nb.
func packB(dst, b []float32, ldb int, trans bool, pc, jc, kb, nb int) {
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
		// op(B)[p][j] = b[j*ldb+p]: a full panel goes 16×16 blocks at a time
		// through the vector transpose, the rest float by float.
		p0 := 0
		if cols == nr {
			tr := transpose16Go
			if available {
				tr = transpose16
			}
			for ; p0+16 <= kb; p0 += 16 {
				for h := 0; h < nr; h += 16 {
					tr(&panel[p0*nr+h], 4*nr, &b[(jc+jr+h)*ldb+pc+p0], 4*ldb)
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

// packA copies alpha·op(A)[ic:ic+mb, pc:pc+kb] into panels of mr rows, each
// panel kb columns of mr floats, zero-filling the rows past mb.
func packA(dst, a []float32, lda int, trans bool, ic, pc, mb, kb int, alpha float32) {
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
