package allcnn

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/allcnn/allcnn/kernel"
)

// The model-randomization tests of Adebayo et al. 2018 ("Sanity Checks for
// Saliency Maps", Sec. 4.1): a map that explains the model must change
// when the model's weights are replaced by random ones. Cascading
// randomization replaces the convolutions' weights from the class layer
// down, one more layer each step; independent randomization replaces one
// layer at a time, the others as trained.

// Randomization configures SanityChecks.
type Randomization struct {
	// Init is the kernel.Net.Init scheme that draws the random weights
	// and biases: "" means "he", the trainer's default, so a randomized
	// layer is what the layer was before training (a rectified class layer
	// gets Init's small weights and biases of 1, whatever the scheme).
	Init string
	// Seed seeds Init, mixed with a constant (randomSeed) so that no seed
	// redraws the initial weights of a net trained from Init with the same
	// seed: training leaves those correlated with the trained ones
	// (RATIONALE.md). All steps take a layer's random weights from one net
	// initialized once, so a layer is the same in every step.
	Seed uint64
	// Progress, if not nil, is called before the maps of each randomized
	// net with its step (from 1), the number of steps and its name.
	Progress func(step, steps int, name string)
}

// Similarity compares a method's maps of a randomized net with its maps of
// the trained net, each measure averaged over the images. A map is reduced
// to one value per pixel first, as Adebayo et al. do.
type Similarity struct {
	// Spearman is the rank correlation (Spearman) of the maps' absolute
	// values summed over the channels.
	Spearman float64
	// SpearmanSigned is the rank correlation of the maps summed over the
	// channels, signs kept.
	SpearmanSigned float64
	// SSIM is the structural similarity (SSIM) of the absolute maps, each
	// scaled to [0, 1] by its minimum and maximum.
	SSIM float64
}

// SanityStep is one net of a randomization test.
type SanityStep struct {
	// Name is "trained", or the randomized layers joined by "+", top down
	// ("conv9+conv8").
	Name string
	// Randomized lists the layers with random weights, top down.
	Randomized []string
	// Scores holds a Similarity per method, in the order of Sanity.Methods.
	Scores []Similarity
	// First holds each method's map of the first image, input-shaped: what
	// a figure of the test shows (Adebayo et al.'s Fig. 2).
	First [][]float32
}

// Sanity is the outcome of SanityChecks.
type Sanity struct {
	// Methods names the methods compared (Method.Name; "gradient" for "").
	Methods []string
	// Targets are the trained net's top classes, one per image, which
	// every randomized net explains too.
	Targets []kernel.Target
	// Layers lists the convolutions randomized, top down.
	Layers []string
	// Cascade is the trained net (the reference, similarity 1 unless a
	// method is not deterministic) and then one step per layer of Layers,
	// each randomizing one more, from the top.
	Cascade []SanityStep
	// Independent randomizes each layer of Layers alone, in that order.
	Independent []SanityStep
}

// SanityChecks runs the cascading and the independent model-randomization
// tests of each method on the images x: it explains each image's top class
// on the trained net n (kernel.Net.Resolve), then the same class on copies
// of n whose convolutions' weights and biases are replaced by those of a
// copy initialized by o.Init (kernel.Net.Init), and compares the maps
// (Similarity). n itself is not changed. Batch-normalisation layers, which
// Init does not touch, keep their trained scale, shift and statistics.
//
// A net with L convolutions takes 2L + 1 runs of every method on x.
func SanityChecks(n *kernel.Net, x *kernel.Tensor, methods []Method, o Randomization) (*Sanity, error) {
	if len(methods) == 0 {
		return nil, fmt.Errorf("allcnn: sanity checks need at least one method: %w", ErrRequest)
	}
	s := &Sanity{}
	for _, m := range methods {
		if err := m.check(); err != nil {
			return nil, fmt.Errorf("allcnn: %w: %w", ErrRequest, err)
		}
		s.Methods = append(s.Methods, cmp.Or(m.Name, "gradient"))
	}
	for i := len(n.Spec.Layers) - 1; i >= 0; i-- {
		if l := n.Spec.Layers[i]; l.Type == kernel.TypeConv {
			s.Layers = append(s.Layers, l.Name)
		}
	}
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("allcnn: %s has no convolution to randomize: %w", n.Spec.Name, ErrRequest)
	}
	work, err := n.Clone()
	if err != nil {
		return nil, err
	}
	random, err := n.Clone()
	if err != nil {
		return nil, err
	}
	if err := random.Init(cmp.Or(o.Init, "he"), o.Seed^randomSeed); err != nil {
		return nil, fmt.Errorf("allcnn: sanity checks: %w: %w", ErrRequest, err)
	}
	targets := make([]kernel.Target, x.N())
	for i := range targets {
		targets[i].Channel = kernel.Strongest
	}
	if s.Targets, err = work.Resolve(x, targets); err != nil {
		return nil, err
	}

	// The trained net's maps, reduced once.
	explain := func(name string) ([]*kernel.Tensor, error) {
		maps := make([]*kernel.Tensor, len(methods))
		for j, m := range methods {
			var err error
			if maps[j], _, err = Explain(work, x, s.Targets, m); err != nil {
				return nil, fmt.Errorf("allcnn: sanity checks: %s: %s: %w", name, s.Methods[j], err)
			}
		}
		return maps, nil
	}
	trained, err := explain("trained")
	if err != nil {
		return nil, err
	}
	ref := make([][]reduced, len(methods))
	for j, t := range trained {
		ref[j] = reduceAll(t)
	}
	step := func(name string, layers []string, maps []*kernel.Tensor) SanityStep {
		st := SanityStep{Name: name, Randomized: layers}
		for j, t := range maps {
			st.Scores = append(st.Scores, similarity(ref[j], reduceAll(t)))
			st.First = append(st.First, slices.Clone(t.Example(0)))
		}
		return st
	}
	s.Cascade = append(s.Cascade, step("trained", nil, trained))

	steps, done := 2*len(s.Layers), 0
	run := func(layers []string) (SanityStep, error) {
		name := strings.Join(layers, "+")
		done++
		if o.Progress != nil {
			o.Progress(done, steps, name)
		}
		maps, err := explain(name)
		if err != nil {
			return SanityStep{}, err
		}
		return step(name, layers, maps), nil
	}
	for k, l := range s.Layers {
		setLayer(work, random, l)
		st, err := run(slices.Clone(s.Layers[:k+1]))
		if err != nil {
			return nil, err
		}
		s.Cascade = append(s.Cascade, st)
	}
	for _, l := range s.Layers {
		setLayer(work, n, l)
	}
	for _, l := range s.Layers {
		setLayer(work, random, l)
		st, err := run([]string{l})
		if err != nil {
			return nil, err
		}
		s.Independent = append(s.Independent, st)
		setLayer(work, n, l)
	}
	return s, nil
}

// randomSeed is mixed into Randomization.Seed: "sanity" in ASCII.
const randomSeed = 0x73616e697479

// setLayer copies the weights and bias of layer l from src to dst.
func setLayer(dst, src *kernel.Net, l string) {
	for _, p := range []string{l + ".weight", l + ".bias"} {
		copy(dst.Param(p).Data, src.Param(p).Data)
	}
}

// reduced is one example's map as the measures see it.
type reduced struct {
	abs, signed []float64 // ranks of Σ_c |m| and of Σ_c m
	unit        []float64 // Σ_c |m| scaled to [0, 1]
	h, w        int
}

// reduceAll reduces each example of a batch of maps.
func reduceAll(t *kernel.Tensor) []reduced {
	out := make([]reduced, t.N())
	c, h, w := t.C(), t.H(), t.W()
	for i := range out {
		m := t.Example(i)
		abs, signed := make([]float64, h*w), make([]float64, h*w)
		for ch := range c {
			for k, v := range m[ch*h*w : (ch+1)*h*w] {
				abs[k] += math.Abs(float64(v))
				signed[k] += float64(v)
			}
		}
		out[i] = reduced{abs: ranks(abs), signed: ranks(signed), h: h, w: w,
			unit: unitRange(slices.Clone(abs))}
	}
	return out
}

// similarity averages the measures over the examples of a and b.
func similarity(a, b []reduced) Similarity {
	var s Similarity
	for i := range a {
		s.Spearman += pearson(a[i].abs, b[i].abs)
		s.SpearmanSigned += pearson(a[i].signed, b[i].signed)
		s.SSIM += SSIM(a[i].unit, b[i].unit, a[i].h, a[i].w)
	}
	n := float64(len(a))
	s.Spearman /= n
	s.SpearmanSigned /= n
	s.SSIM /= n
	return s
}
