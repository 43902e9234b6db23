package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A batch-1 forward pass of All-CNN-C calls Team some 30 times, a few tens
// of microseconds apart. A new goroutine for each call would wait for the
// runtime to wake a thread on the other core (a futex wake, often longer
// than the work), so Team hands its parts to a pool of workers that, once
// done, look for the next part for spinFor before they sleep: between the
// layers of one pass they are still awake. An idle pool costs nothing
// after spinFor, and a process with one P (GOMAXPROCS=1, or wasm) never
// spins.

// spinFor is how long a worker looks for its next part before it sleeps.
const spinFor = 100 * time.Microsecond

// job is one Team call: its function, its goroutines, and those not done.
type job struct {
	f       func(w, nw int)
	nw      int
	pending atomic.Int32
	done    sync.WaitGroup
}

func newJob(f func(w, nw int), nw int) *job {
	j := &job{f: f, nw: nw}
	j.pending.Store(int32(nw - 1))
	j.done.Add(nw - 1)
	return j
}

// run is part w of the job, on a goroutine of its own.
func (j *job) run(w int) {
	j.f(w, j.nw)
	j.finish()
}

// finish reports one part done.
func (j *job) finish() {
	j.pending.Add(-1)
	j.done.Done()
}

// wait returns when every part but the caller's has run: it spins while the
// parts are likely to end soon, then blocks.
func (j *job) wait() {
	if runtime.GOMAXPROCS(0) > 1 {
		deadline := time.Now().Add(spinFor)
		for i := 0; j.pending.Load() != 0; i++ {
			if i%64 == 63 && time.Now().After(deadline) {
				break
			}
		}
	}
	j.done.Wait()
}

// worker is one goroutine of the pool, the one that runs part w of the
// Teams it is handed.
//
// slot is nil while the worker is free and looks for a part, the job from
// the moment a Team hands it one until the worker has run its part, and
// asleep while the worker sleeps on wake. Worker and Team change it only
// with atomic read-modify-writes or, for the worker's release of a job it
// has run, a store to a word that no Team changes while it holds a job;
// every processor orders those: either the Team's CompareAndSwap from nil
// comes first and the worker's own, from nil to asleep, fails, or the
// worker's does and the Team swaps its job in for asleep and sends the one
// token that the sleeping worker waits for. (Before, a flag for sleeping
// stood beside the job's pointer, each side storing one and then loading
// the other; once, in CI under qemu-aarch64, a Team then waited ten
// minutes on a worker asleep with a job in hand.) A Team that finds its
// worker's slot holding another job (a Team inside a Team, or Teams of
// several goroutines at once) runs that part on a new goroutine.
type worker struct {
	slot atomic.Pointer[job]
	w    int           // the part this worker runs
	wake chan struct{} // a token per wake-up (capacity 1)
}

// asleep is slot's value while its worker sleeps.
var asleep = new(job)

// maxPooled is how many parts of a Team the pool runs (parts 1 …
// maxPooled); parts past it take new goroutines.
const maxPooled = 64

// pool holds one worker for each part of a Team but the caller's, made at
// the first Team with that many parts. Each part has its worker, so that a
// Team hands over its parts without a lock: at batch 1 the two cores meet
// some fifteen times a pass, and a lock's cache line then crossed between
// them at every meeting, twice.
type pool struct {
	parts [maxPooled]atomic.Pointer[worker]
	// spinning counts the workers looking for a part; no more than
	// GOMAXPROCS − 1 do, so that a spinning worker never keeps a caller off
	// a P.
	spinning atomic.Int32
}

var workers pool

// start hands part w of j to its worker and reports whether it did; it
// does not where the worker is running another part, where a process has
// one P (the part would wait for the caller's P anyway), or past
// maxPooled.
func (p *pool) start(j *job, w int) bool {
	if runtime.GOMAXPROCS(0) < 2 || w > maxPooled {
		return false
	}
	wk := p.parts[w-1].Load()
	if wk == nil {
		wk = &worker{w: w, wake: make(chan struct{}, 1)}
		if p.parts[w-1].CompareAndSwap(nil, wk) {
			go wk.loop()
		} else {
			wk = p.parts[w-1].Load()
		}
	}
	if wk.slot.CompareAndSwap(nil, j) {
		return true
	}
	if wk.slot.CompareAndSwap(asleep, j) {
		wk.wake <- struct{}{}
		return true
	}
	return false
}

// loop runs parts as they come. It frees the slot before it reports the
// part done, so that the Team's caller, once it sees every part done, finds
// the worker free for its next Team.
func (wk *worker) loop() {
	for {
		j := wk.await()
		j.f(wk.w, j.nw)
		wk.slot.Store(nil)
		j.finish()
	}
}

// await returns the next job: it spins for spinFor, then sleeps until woken.
func (wk *worker) await() *job {
	if workers.spinning.Add(1) < int32(runtime.GOMAXPROCS(0)) {
		deadline := time.Now().Add(spinFor)
		for i := 0; ; i++ {
			if j := wk.slot.Load(); j != nil {
				workers.spinning.Add(-1)
				return j
			}
			if i%64 == 63 && time.Now().After(deadline) {
				break
			}
		}
	}
	workers.spinning.Add(-1)
	if wk.slot.CompareAndSwap(nil, asleep) {
		// The Team that hands this worker a job swaps it in for asleep
		// and then sends the token.
		<-wk.wake
	}
	return wk.slot.Load()
}
