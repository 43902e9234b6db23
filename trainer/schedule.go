package trainer

// Schedule is the learning rate over a run. The step schedule (Kind "" or
// "step") is Base, multiplied by Gamma after each epoch listed in Milestones
// (NOTES.md §5: ×0.1 after epochs 200, 250, 300), constant within an epoch.
// The one-cycle schedule ("onecycle") changes at every step: it rises
// linearly from 0 to Base over the first Warmup epochs, then falls linearly
// to 0 at the end of epoch Epochs (Smith and Topin 2017, in its linear
// form).
type Schedule struct {
	Kind       string
	Base       float64
	Milestones []int
	Gamma      float64
	Warmup     float64 // onecycle: epochs of warm-up
	Epochs     int     // onecycle: epochs in all
}

// Schedule kinds.
const (
	StepSchedule     = "step"
	OneCycleSchedule = "onecycle"
)

// Rate is the rate at time t, in epochs from the start of the run (the
// step that begins after a third of epoch 2 has t = 1.33).
func (s Schedule) Rate(t float64) float64 {
	if s.Kind != OneCycleSchedule {
		return s.At(int(t) + 1)
	}
	end := float64(s.Epochs)
	switch {
	case t < s.Warmup:
		return s.Base * t / s.Warmup
	case t >= end:
		return 0
	}
	return s.Base * (end - t) / (end - s.Warmup)
}

// At is the step schedule's rate for epoch e, counted from 1.
func (s Schedule) At(e int) float64 {
	lr := s.Base
	for _, m := range s.Milestones {
		if e > m {
			lr *= s.Gamma
		}
	}
	return lr
}
