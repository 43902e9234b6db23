package trainer

import (
	"fmt"
	"slices"

	"github.com/allcnn/allcnn/kernel"
)

// average is an exponential moving average of a net's tensors, in
// Net.Tensors' order: the parameters, and batch normalisation's running
// statistics with them, so that the averaged net normalises with statistics
// of its own time span (Polyak averaging in the form most trainers use:
// PyTorch's AveragedModel with an exponential rule, timm's ModelEmaV2).
// After update t (counting from 0) the average weighs the past by
// min(Decay, (1+t)/(10+t)): a young run's average follows the weights
// rather than remembering their random start.
type average struct {
	decay float64
	steps int // updates so far
	avg   [][]float32
}

// newAverage starts an average of tensors at their current values.
func newAverage(decay float64, tensors []*kernel.Param) *average {
	a := &average{decay: decay}
	for _, p := range tensors {
		a.avg = append(a.avg, slices.Clone(p.Data))
	}
	return a
}

// past is the weight of the average so far in update t.
func (a *average) past() float32 {
	return float32(min(a.decay, float64(1+a.steps)/float64(10+a.steps)))
}

// update moves the average toward tensors, after an optimiser step.
func (a *average) update(tensors []*kernel.Param) {
	d := a.past()
	for i, p := range tensors {
		avg := a.avg[i]
		for j, v := range p.Data {
			avg[j] = d*avg[j] + (1-d)*v
		}
	}
	a.steps++
}

// swap exchanges the values of tensors with the average's: a second call
// undoes the first. Between the two the net computes with the averaged
// weights, and the average holds the trained ones.
func (a *average) swap(tensors []*kernel.Param) {
	for i, p := range tensors {
		avg := a.avg[i]
		for j, v := range p.Data {
			p.Data[j], avg[j] = avg[j], v
		}
	}
}

// restoreAverage reads an average saved as little-endian float32 tensors,
// checking it against the net's tensors.
func restoreAverage(decay float64, steps int, saved [][]byte, tensors []*kernel.Param) (*average, error) {
	if len(saved) != len(tensors) {
		return nil, fmt.Errorf("%d averaged tensors for %d", len(saved), len(tensors))
	}
	if steps < 0 {
		return nil, fmt.Errorf("%d averaging steps", steps)
	}
	a := &average{decay: decay, steps: steps}
	for i, p := range tensors {
		v, ok := bytesF32(saved[i])
		if !ok || len(v) != len(p.Data) {
			return nil, fmt.Errorf("the average of %s has %d bytes, want %d", p.Name, len(saved[i]), 4*len(p.Data))
		}
		if bad, x := firstNonFinite([]*kernel.Param{{Name: p.Name, Data: v}}); bad != "" {
			return nil, fmt.Errorf("the average of %s holds %v", bad, x)
		}
		a.avg = append(a.avg, v)
	}
	return a, nil
}

// saved is the average as little-endian float32 tensors, for a checkpoint.
func (a *average) saved() [][]byte {
	b := make([][]byte, len(a.avg))
	for i, v := range a.avg {
		b[i] = f32bytes(v)
	}
	return b
}
