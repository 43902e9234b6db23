package trainer

import (
	"math"
	"testing"
)

func TestSchedule(t *testing.T) {
	s := Schedule{Base: 0.05, Milestones: []int{200, 250, 300}, Gamma: 0.1}
	for _, c := range []struct {
		epoch int
		want  float64
	}{{1, 0.05}, {200, 0.05}, {201, 0.005}, {250, 0.005}, {251, 0.0005}, {301, 0.00005}, {350, 0.00005}} {
		if got := s.At(c.epoch); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("epoch %d: %v, want %v", c.epoch, got, c.want)
		}
	}
}
