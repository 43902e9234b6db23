package engine

// Team calls f(w, nw) for w in [0, nw) on nw goroutines, the caller's being
// one of them, and returns when all have.
//
// The kernel parallelises at the level of whole examples: with a batch,
// each goroutine lowers, multiplies and writes back its own examples, so
// no core waits for another inside a layer; with fewer examples than
// goroutines, it splits each product's columns and the im2col work
// instead. The BLAS should then run one thread per call (package native
// arranges that), or the goroutines and the BLAS's own threads compete for
// the same cores.
//
// The other goroutines are the pool's workers (pool.go) where they are
// free, and new goroutines where they are not (a Team inside a Team).
func Team(nw int, f func(w, nw int)) {
	if nw <= 1 {
		f(0, 1)
		return
	}
	j := newJob(f, nw)
	for w := 1; w < nw; w++ {
		if !workers.start(j, w) {
			go j.run(w)
		}
	}
	f(0, nw)
	j.wait()
}

// Span returns the w-th of nw near-equal parts of [0, n), in multiples of
// align where it can.
func Span(n, w, nw, align int) (lo, hi int) {
	units := (n + align - 1) / align
	lo = min(n, units*w/nw*align)
	hi = min(n, units*(w+1)/nw*align)
	return lo, hi
}

// Elementwise calls f on up to Threads() near-equal ranges of [0, n) at
// once, for loops over every element of a tensor; small tensors stay on one
// goroutine.
func (e *Engine) Elementwise(n int, f func(lo, hi int)) {
	Team(min(e.threads, n/(64<<10)+1), func(w, nw int) {
		lo, hi := Span(n, w, nw, 64)
		f(lo, hi)
	})
}

// Parts calls f(lo, hi) on up to Threads() near-equal parts of [0, n), one
// goroutine each, using fewer goroutines when the work (size floats in
// all) is below grain floats a goroutine: for per-channel or per-plane
// loops.
func (e *Engine) Parts(n, size, grain int, f func(lo, hi int)) {
	Team(min(e.threads, n, size/grain+1), func(w, nw int) {
		lo, hi := Span(n, w, nw, 1)
		f(lo, hi)
	})
}
