package kernel

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// bnReference is batch normalisation in float64, PyTorch's definition:
// biased variance to normalise, unbiased in the running average.
func bnReference(x *Tensor, gamma, beta, runMean, runVar []float32, eps, mom float64, train bool) (y []float64, newMean, newVar []float64) {
	n, c, p := x.N(), x.C(), x.H()*x.W()
	y = make([]float64, len(x.Data))
	newMean, newVar = make([]float64, c), make([]float64, c)
	for ch := range c {
		var mean, v float64
		if train {
			for j := range n {
				for _, u := range x.Data[(j*c+ch)*p : (j*c+ch+1)*p] {
					mean += float64(u)
				}
			}
			mean /= float64(n * p)
			for j := range n {
				for _, u := range x.Data[(j*c+ch)*p : (j*c+ch+1)*p] {
					v += (float64(u) - mean) * (float64(u) - mean)
				}
			}
			v /= float64(n * p)
			newMean[ch] = (1-mom)*float64(runMean[ch]) + mom*mean
			newVar[ch] = (1-mom)*float64(runVar[ch]) + mom*v*float64(n*p)/float64(n*p-1)
		} else {
			mean, v = float64(runMean[ch]), float64(runVar[ch])
			newMean[ch], newVar[ch] = mean, v
		}
		for j := range n {
			for i := (j*c + ch) * p; i < (j*c+ch+1)*p; i++ {
				y[i] = float64(gamma[ch])*(float64(x.Data[i])-mean)/math.Sqrt(v+eps) + float64(beta[ch])
			}
		}
	}
	return y, newMean, newVar
}

func TestBatchNormForward(t *testing.T) {
	rng := newRNG(21)
	for _, train := range []bool{true, false} {
		// Values far from zero: the variance must not cancel away.
		x := randTensor(rng, 2, 4, 3, 5, 6)
		for i := range x.Data {
			x.Data[i] += 30
		}
		l := NewBatchNorm("bn", 3, 0, 0.25)
		for i := range 3 {
			l.Weight.Data[i] = float32(rng.NormFloat64())
			l.Bias.Data[i] = float32(rng.NormFloat64())
			l.Mean.Data[i] = float32(rng.NormFloat64())
			l.Var.Data[i] = float32(1 + rng.Float64())
		}
		g, b := append([]float32(nil), l.Weight.Data...), append([]float32(nil), l.Bias.Data...)
		rm, rv := append([]float32(nil), l.Mean.Data...), append([]float32(nil), l.Var.Data...)
		want, wm, wv := bnReference(x, g, b, rm, rv, DefaultBNEps, 0.25, train)
		got := l.Forward(x, train)
		var worst float64
		for i, w := range want {
			worst = math.Max(worst, math.Abs(w-float64(got.Data[i]))/math.Max(1, math.Abs(w)))
		}
		for ch := range 3 {
			worst = math.Max(worst, math.Abs(wm[ch]-float64(l.Mean.Data[ch]))/math.Max(1, math.Abs(wm[ch])))
			worst = math.Max(worst, math.Abs(wv[ch]-float64(l.Var.Data[ch]))/math.Max(1, math.Abs(wv[ch])))
		}
		t.Logf("train=%v: largest relative difference from float64 %.2g", train, worst)
		if worst > 2e-5 {
			t.Errorf("train=%v: output or running statistics differ from float64 by %.2g", train, worst)
		}
	}
}

// TestBatchNormThreads: the channels split over goroutines give what one
// goroutine gives, forward and backward.
func TestBatchNormThreads(t *testing.T) {
	t.Parallel()
	x := randTensor(newRNG(4), 1, 8, 16, 32, 32) // large enough to split
	dy := randTensor(newRNG(5), 1, 8, 16, 32, 32)
	run := func(threads int) (y, dx, dg, db []float32) {
		l := NewBatchNorm("bn", 16, 0, 0)
		l.eng = engine.New(engine.Config{Threads: threads})
		y = l.Forward(x, true).Clone().Data
		dx = l.Backward(dy, Pass{Params: true, Input: true}).Clone().Data
		return y, dx, l.Weight.Grad, l.Bias.Grad
	}
	y1, dx1, g1, b1 := run(1)
	y2, dx2, g2, b2 := run(3)
	if maxDiff(y1, y2) != 0 || maxDiff(dx1, dx2) != 0 || maxDiff(g1, g2) != 0 || maxDiff(b1, b2) != 0 {
		t.Fatalf("3 goroutines differ from 1: %g %g %g %g", maxDiff(y1, y2), maxDiff(dx1, dx2), maxDiff(g1, g2), maxDiff(b1, b2))
	}
}

// TestFoldBatchNorm: a net with batchnorm after its convolutions, with
// running statistics gathered by training passes and random γ and β, and
// its folded copy give the same logits in evaluation mode.
func TestFoldBatchNorm(t *testing.T) {
	t.Parallel()
	for _, model := range []string{"all-cnn-c", "model-c", "large-all-cnn"} {
		t.Run(model, func(t *testing.T) {
			width := 1.0 / 8
			if model == "large-all-cnn" {
				width = 1.0 / 64
			}
			plain, err := ZooSpec(model, 10, width)
			requireNoError(t, err)
			spec, err := WithBatchNorm(*plain)
			requireNoError(t, err)
			net, err := Build(spec)
			requireNoError(t, err)
			requireNoError(t, net.Init("he", 3))
			rng := newRNG(9)
			bns := 0
			for _, l := range net.Layers {
				if bn, ok := l.(*BatchNorm); ok {
					bns++
					for i := range bn.Weight.Data {
						bn.Weight.Data[i] = float32(0.5 + rng.Float64())
						bn.Bias.Data[i] = float32(0.2 * rng.NormFloat64())
					}
				}
			}
			convs := 0
			for _, l := range plain.Layers {
				if l.Type == TypeConv {
					convs++
				}
			}
			requireEqual(t, convs-1, bns, "batchnorm layers (all convolutions but the class layer)")
			in := spec.Input
			for range 3 {
				_, err := net.Forward(randTensor(rng, 1, 4, in[0], in[1], in[2]), true)
				requireNoError(t, err)
			}
			folded, err := FoldBatchNorm(net)
			requireNoError(t, err)
			requireEqual(t, len(plain.Layers), len(folded.Spec.Layers), "layers after folding")
			pc, _ := plain.ParamCount()
			fc, _ := folded.Spec.ParamCount()
			requireEqual(t, pc, fc, "parameters after folding")
			x := randTensor(rng, 1, 3, in[0], in[1], in[2])
			a, err := net.Forward(x, false)
			requireNoError(t, err)
			a = a.Clone()
			b, err := folded.Forward(x, false)
			requireNoError(t, err)
			var scale float64
			for _, v := range a.Data {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			d := maxDiff(a.Data, b.Data) / math.Max(scale, 1e-30)
			t.Logf("folded logits differ by %.2g relative to the largest (%.3g)", d, scale)
			if d > 1e-5 || scale == 0 {
				t.Fatalf("folded logits differ by %.2g relative (largest logit %g)", d, scale)
			}
		})
	}
}

func TestBatchNormSpecErrors(t *testing.T) {
	bn := LayerSpec{Type: TypeBatchNorm, Name: "bn"}
	conv := LayerSpec{Type: TypeConv, Name: "c", Out: 2, Kernel: 1}
	for _, c := range []struct {
		name   string
		layers []LayerSpec
	}{
		{"no name", []LayerSpec{conv, {Type: TypeBatchNorm}}},
		{"eps", []LayerSpec{conv, {Type: TypeBatchNorm, Name: "bn", Eps: -1}}},
		{"momentum", []LayerSpec{conv, {Type: TypeBatchNorm, Name: "bn", Momentum: 2}}},
		{"duplicate name", []LayerSpec{conv, bn, {Type: TypeConv, Name: "c2", Out: 2, Kernel: 1}, bn}},
	} {
		s := Spec{Input: [3]int{2, 3, 3}, Layers: c.layers}
		if _, err := s.Shapes(); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: got %v, want ErrSpec", c.name, err)
		}
	}
	// Folding needs a convolution right before each batchnorm.
	net, err := Build(Spec{Input: [3]int{2, 3, 3}, Layers: []LayerSpec{conv, {Type: TypeReLU}, bn}})
	requireNoError(t, err)
	if _, err := FoldBatchNorm(net); err == nil {
		t.Error("folded a batchnorm that follows a ReLU")
	}
	s := Spec{Input: [3]int{2, 3, 3}, Layers: []LayerSpec{conv, {Type: TypeReLU}, {Type: TypeConv, Name: "d", Out: 2, Kernel: 1}}}
	w, err := WithBatchNorm(s)
	requireNoError(t, err)
	if _, err := WithBatchNorm(w); !errors.Is(err, ErrSpec) {
		t.Errorf("batch norm added twice: %v", err)
	}
	ps, err := w.ParamShapes()
	requireNoError(t, err)
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	want := "[c.weight c.bias c_bn.weight c_bn.bias c_bn.running_mean c_bn.running_var d.weight d.bias]"
	if got := fmtSlice(names); got != want {
		t.Errorf("tensors %s, want %s", got, want)
	}
	n1, _ := s.ParamCount()
	n2, _ := w.ParamCount()
	requireEqual(t, n1+4, n2, "learnable scalars with a 2-channel batchnorm")
}

func fmtSlice(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

// TestBatchNormGolden compares with PyTorch's BatchNorm2d in both modes
// (kernel/testdata/batchnorm.json, from tools/golden_bn.py).
func TestBatchNormGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/batchnorm.json")
	requireNoError(t, err)
	type mode struct {
		Output      []float32
		InputGrad   []float32 `json:"input_grad"`
		WeightGrad  []float32 `json:"weight_grad"`
		BiasGrad    []float32 `json:"bias_grad"`
		RunningMean []float32 `json:"running_mean"`
		RunningVar  []float32 `json:"running_var"`
	}
	var g struct {
		Shape                  []int
		Momentum, Eps          float32
		Input, R, Weight, Bias []float32
		RunningMean            []float32 `json:"running_mean"`
		RunningVar             []float32 `json:"running_var"`
		Train, Eval            mode
	}
	requireNoError(t, json.Unmarshal(b, &g))
	for _, c := range []struct {
		name  string
		train bool
		want  mode
	}{{"train", true, g.Train}, {"eval", false, g.Eval}} {
		l := NewBatchNorm("bn", g.Shape[1], g.Eps, g.Momentum)
		copy(l.Weight.Data, g.Weight)
		copy(l.Bias.Data, g.Bias)
		copy(l.Mean.Data, g.RunningMean)
		copy(l.Var.Data, g.RunningVar)
		x := &Tensor{Shape: g.Shape, Data: g.Input}
		y := l.Forward(x, c.train).Clone()
		dx := l.Backward(&Tensor{Shape: g.Shape, Data: g.R}, Pass{Params: true, Input: true})
		for _, v := range []struct {
			what      string
			want, got []float32
		}{
			{"output", c.want.Output, y.Data}, {"input gradient", c.want.InputGrad, dx.Data},
			{"weight gradient", c.want.WeightGrad, l.Weight.Grad}, {"bias gradient", c.want.BiasGrad, l.Bias.Grad},
			{"running mean", c.want.RunningMean, l.Mean.Data}, {"running var", c.want.RunningVar, l.Var.Data},
		} {
			if len(v.want) != len(v.got) {
				t.Fatalf("%s %s: %d values, want %d", c.name, v.what, len(v.got), len(v.want))
			}
			var worst float64
			for i := range v.want {
				worst = math.Max(worst, math.Abs(float64(v.want[i]-v.got[i]))/math.Max(1, math.Abs(float64(v.want[i]))))
			}
			t.Logf("%s %s: largest relative difference %.2g", c.name, v.what, worst)
			if worst > 1e-5 {
				t.Errorf("%s %s: differs from PyTorch by %.2g (relative)", c.name, v.what, worst)
			}
		}
	}
}
