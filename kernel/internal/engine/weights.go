package engine

import (
	"bytes"
	"fmt"
	"sync/atomic"
)

// weightCopy is a copy of the weights of a layer's last call, by which
// Winograd and Shift know whether what they derive from the weights is
// still theirs: comparing costs a fraction of deriving again, and no caller
// can forget to say that the weights changed. While frozen (Freeze), the
// first call compares and the calls after trust the copy.
type weightCopy struct {
	data         []float32
	frozen, seen bool
}

// update compares weight with the copy, copies what differs and reports
// whether anything did; frozen, only the first call after Freeze compares.
// The goroutines compare (and copy) a part each: at batch 1 one core
// comparing the 1.3 MB of a 192-channel layer left the other idle.
func (c *weightCopy) update(e *Engine, weight []float32, what string) bool {
	if len(weight) != len(c.data) {
		panic(fmt.Sprintf("kernel: %s: %d weights, want %d", what, len(weight), len(c.data)))
	}
	if c.frozen && c.seen {
		return false
	}
	c.seen = c.frozen
	var changed atomic.Bool
	Team(min(e.threads, len(weight)/(32<<10)+1), func(iw, nw int) {
		lo, hi := Span(len(weight), iw, nw, 16)
		if !bytes.Equal(floatBytes(weight[lo:hi]), floatBytes(c.data[lo:hi])) {
			copy(c.data[lo:hi], weight[lo:hi])
			changed.Store(true)
		}
	})
	return changed.Load()
}

// freeze makes or ends Freeze's promise: the next call compares.
func (c *weightCopy) freeze(on bool) { c.frozen, c.seen = on, false }
