package optim

import (
	"math"
	"testing"

	"github.com/allcnn/allcnn/kernel"
)

func TestSGDStep(t *testing.T) {
	p := &kernel.Param{Data: []float32{1, -2}, Grad: []float32{0.5, 0}}
	o := &SGD{Momentum: 0.9, WeightDecay: 0.1}
	o.Step([]*kernel.Param{p}, 0.1)
	// v = 0.1·(0.5 + 0.1·1) = 0.06; w = 0.94. v = 0.1·(0 − 0.2) = −0.02; w = −1.98.
	want := []float32{0.94, -1.98}
	for i := range want {
		if math.Abs(float64(p.Data[i]-want[i])) > 1e-6 {
			t.Fatalf("step 1: %v, want %v", p.Data, want)
		}
	}
	o.Step([]*kernel.Param{p}, 0.1)
	// v = 0.9·0.06 + 0.1·(0.5 + 0.094) = 0.1134; w = 0.8266.
	if math.Abs(float64(p.Data[0])-0.8266) > 1e-6 {
		t.Fatalf("step 2: %v", p.Data[0])
	}
}
