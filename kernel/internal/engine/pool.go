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

// run is part w of the job, on whichever goroutine takes it.
func (j *job) run(w int) {
	j.f(w, j.nw)
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

// worker is one goroutine of the pool: part w of the job in slot.
//
// slot is nil while the worker looks for a part, the job once a Team has
// handed it one, and asleep while the worker sleeps on wake. Worker and Team
// change it only with atomic read-modify-writes of that one word (the
// worker's CompareAndSwap from nil to asleep, the Team's Swap in of its
// job), which every processor orders: either the Team's Swap comes first
// and the worker's CompareAndSwap fails, or the Team's Swap returns asleep
// and it sends the one token that the sleeping worker waits for. (Before,
// a flag for sleeping stood beside the job's pointer, each side storing
// one and then loading the other; once, in CI under qemu-aarch64, a Team
// then waited ten minutes on a worker asleep with a job in hand. One word
// changed only by read-modify-writes needs no ordering between two.)
type worker struct {
	slot atomic.Pointer[job]
	w    int           // the part of slot's job to run; written before the job
	wake chan struct{} // a token per wake-up (capacity 1)
}

// asleep is slot's value while its worker sleeps.
var asleep = new(job)

// pool holds the idle workers; it grows to the most parts ever run at once
// (Threads() − 1 in the kernel) and never shrinks.
type pool struct {
	mu   sync.Mutex
	idle []*worker
	// spinning counts the workers looking for a part; no more than
	// GOMAXPROCS − 1 do, so that a spinning worker never keeps a caller off
	// a P.
	spinning atomic.Int32
}

var workers pool

// start hands part w of j to an idle worker, or to a new one, and reports
// whether it did; it does not where a process has one P (the part would
// wait for the caller's P anyway) or while another Team is spinning up.
func (p *pool) start(j *job, w int) bool {
	if runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	p.mu.Lock()
	var wk *worker
	if n := len(p.idle); n > 0 {
		wk = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.mu.Unlock()
	if wk == nil {
		wk = &worker{wake: make(chan struct{}, 1)}
		go wk.loop()
	}
	wk.w = w
	if wk.slot.Swap(j) == asleep {
		wk.wake <- struct{}{}
	}
	return true
}

// loop runs parts as they come, returning the worker to the idle list after
// each.
func (wk *worker) loop() {
	for {
		j := wk.await()
		wk.slot.Store(nil)
		j.run(wk.w)
		workers.mu.Lock()
		workers.idle = append(workers.idle, wk)
		workers.mu.Unlock()
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
