package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTeam: every part of a Team runs once and has ended when Team
// returns, whether its workers come from the pool, are spinning or asleep,
// or are new goroutines (Teams inside Teams, Teams from many goroutines at
// once, more parts than Ps).
func TestTeam(t *testing.T) {
	check := func(t *testing.T, nw int) {
		t.Helper()
		counts := make([]atomic.Int32, nw)
		Team(nw, func(w, n int) {
			if n != nw {
				t.Errorf("part %d told of %d parts, want %d", w, n, nw)
			}
			counts[w].Add(1)
		})
		for w := range counts {
			if c := counts[w].Load(); c != 1 {
				t.Errorf("Team(%d): part %d ran %d times", nw, w, c)
			}
		}
	}
	t.Run("sizes", func(t *testing.T) {
		for nw := 1; nw <= 9; nw++ {
			check(t, nw)
		}
	})
	t.Run("asleep", func(t *testing.T) {
		for range 3 {
			check(t, 2)
			time.Sleep(3 * spinFor) // the workers have gone to sleep
		}
	})
	t.Run("falling-asleep", func(t *testing.T) {
		// Teams about spinFor apart, so that their parts often reach a
		// worker just as it gives up spinning: the race between the
		// worker's going to sleep and the Team's handing it a part.
		for i := range 300 {
			check(t, 2+i%2)
			time.Sleep(spinFor * time.Duration(80+i%40) / 100)
		}
	})
	t.Run("nested", func(t *testing.T) {
		var total atomic.Int32
		Team(3, func(w, nw int) {
			Team(4, func(w, nw int) {
				Team(2, func(w, nw int) { total.Add(1) })
			})
		})
		if got := total.Load(); got != 24 {
			t.Errorf("nested Teams ran %d innermost parts, want 24", got)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for nw := range 200 {
					check(t, 2+nw%3)
				}
			}()
		}
		wg.Wait()
	})
	t.Run("one P", func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		check(t, 4)
	})
}

// TestTeamWrites: a part's writes are seen by the caller once Team returns
// (run under -race, this is what the pool's hand-over must guarantee).
func TestTeamWrites(t *testing.T) {
	buf := make([]int, 1024)
	for round := range 500 {
		Team(2, func(w, nw int) {
			lo, hi := Span(len(buf), w, nw, 1)
			for i := lo; i < hi; i++ {
				buf[i] = round
			}
		})
		for i, v := range buf {
			if v != round {
				t.Fatalf("round %d: buf[%d] = %d after Team returned", round, i, v)
			}
		}
	}
}

// BenchmarkTeam times a Team of two empty parts: what a split of one
// layer's work between two cores costs beyond the work (the hand-over to a
// spinning worker and back).
func BenchmarkTeam(b *testing.B) {
	var sink [2]int
	for b.Loop() {
		Team(2, func(w, nw int) { sink[w]++ })
	}
}
