package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers is how many goroutines the kernel spreads one layer's work over.
var workers atomic.Int32

func init() { workers.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines the kernel uses for one layer's work
// (n < 1 means GOMAXPROCS, the default) and returns the previous count.
//
// The kernel parallelises at the level of whole examples: with a batch, each
// goroutine lowers, multiplies and writes back its own examples, so no core
// waits for another inside a layer; with fewer examples than goroutines, it
// splits each product's columns and the im2col work instead. The BLAS
// should then run one thread per call (package native arranges that), or the
// goroutines and the BLAS's own threads compete for the same cores.
//
// Call it before a forward or backward pass starts, not during one.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return int(workers.Swap(int32(n)))
}

// Threads returns the count SetThreads set.
func Threads() int { return int(workers.Load()) }

// team calls f(w, nw) for w in [0, nw) on nw goroutines, the caller's being
// one of them, and returns when all have.
func team(nw int, f func(w, nw int)) {
	if nw <= 1 {
		f(0, 1)
		return
	}
	var wg sync.WaitGroup
	wg.Add(nw - 1)
	for w := 1; w < nw; w++ {
		go func() {
			defer wg.Done()
			f(w, nw)
		}()
	}
	f(0, nw)
	wg.Wait()
}

// span returns the w-th of nw near-equal parts of [0, n), in multiples of
// align where it can.
func span(n, w, nw, align int) (lo, hi int) {
	units := (n + align - 1) / align
	lo = min(n, units*w/nw*align)
	hi = min(n, units*(w+1)/nw*align)
	return lo, hi
}

// elementwise calls f on Threads() near-equal ranges of [0, n) at once, for
// loops over every element of a tensor; small tensors stay on one goroutine.
func elementwise(n int, f func(lo, hi int)) {
	team(min(Threads(), n/(64<<10)+1), func(w, nw int) {
		lo, hi := span(n, w, nw, 64)
		f(lo, hi)
	})
}
