package main

// allcnn viz sanity: Adebayo et al.'s model-randomization tests ("Sanity
// Checks for Saliency Maps", 2018) of the explanation methods.

import (
	"errors"
	"fmt"
	"io"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/kernel/render"
)

const sanitySynopsis = `viz sanity -model FILE -data SPEC [-n 16] [-method all] [-seed 0] [-init he] [-o MAPS.png] [-chart CHART.png] [-json]

The sanity checks of Adebayo et al. 2018: a map that explains the model must
change when the model's weights are randomized. -n images spread over the
data set (read as by 'allcnn eval') are each explained for their top class
on the trained net, then for the same class on randomized copies:
  cascading    the convolutions re-initialized from the class layer down,
               one more each row ("conv9", "conv9+conv8", "conv9+...+conv7",
               the last adding conv7)
  independent  one convolution re-initialized at a time, the rest trained
Re-initialized means drawn as 'allcnn init' draws them (-init, -seed): the
layer as it was before training, whatever it learnt gone.

Each cell compares a method's maps with its maps of the trained net, as
Spearman / SSIM, each the mean over the images; a map is first reduced to
one value per pixel, the absolute values summed over the channels:
  Spearman  rank correlation of the pixels (1: same order; 0: unrelated)
  SSIM      structural similarity of the maps scaled to [0,1] (1: same)
The "trained" row is 1 for a deterministic method. A method that explains
the model falls towards 0 as layers are randomized; one that stays high
shows the image's structure more than what the net learnt (Adebayo et al.
found guided backpropagation so; the plain gradient and Grad-CAM fall). The
absolute gradient keeps the image's edges whatever the weights: -json also
gives spearman_signed, the rank correlation of the maps summed with their
signs. -o draws the cascade for the first image (Adebayo et al.'s Fig. 2):
a row per step, a column per method, each |map| in gray, labelled with the
step's Spearman / SSIM. -chart draws the scores as line charts (Adebayo et
al.'s Fig. 4): Spearman and SSIM, cascading and independent, the randomized
layers along x, a line per method. A net with L convolutions runs every method 2L + 1
times; -method every includes the slow ones (SmoothGrad's 16 samples,
integrated gradients' 32 steps, occlusion's patches). Progress goes to
stderr.`

// sanityReport is the -json output.
type sanityReport struct {
	Model       string           `json:"model"`
	Data        string           `json:"data"`
	Images      int              `json:"images"`
	Init        string           `json:"init"`
	Seed        uint64           `json:"seed"`
	Methods     []string         `json:"methods"`
	Targets     []int            `json:"targets"` // the top class of each image
	Cascade     []sanityStepJSON `json:"cascade"`
	Independent []sanityStepJSON `json:"independent"`
}

// sanityStepJSON is one row: a randomized net and each method's scores.
type sanityStepJSON struct {
	Name       string                     `json:"name"`
	Randomized []string                   `json:"randomized"`
	Scores     map[string]sanityScoreJSON `json:"scores"`
}

type sanityScoreJSON struct {
	Spearman       float64 `json:"spearman"`
	SpearmanSigned float64 `json:"spearman_signed"`
	SSIM           float64 `json:"ssim"`
}

func runVizSanity(args []string, stdout, stderr io.Writer) error {
	fs := flags("viz sanity", sanitySynopsis, stderr)
	path := fs.String("model", "", "weight file (required)")
	spec := fs.String("data", "", "data set: cifar10:DIR, cifar100:DIR, folder:DIR or folder:FILE.tar.gz (required)")
	split := fs.String("split", "test", "test or train (cifar data; a folder is read whole)")
	n := fs.Int("n", 16, "images, spread evenly over the data set")
	methods := fs.String("method", "all", "a method of 'allcnn viz', a comma-separated list of them, all (the paper's three) or every (all ten)")
	seed := fs.Uint64("seed", 0, "seed of the random weights")
	scheme := fs.String("init", "he", "how the random weights are drawn, as 'allcnn init -init': he, xavier or normal:STD")
	out := fs.String("o", "", "also draw the cascade for the first image into this PNG file")
	chart := fs.String("chart", "", "also draw the scores as line charts (a line per method, randomized layers along x) into this PNG file")
	scale := fs.Int("scale", 2, "with -o: enlarge every map this many times")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *spec == "" || *n < 1 || *scale < 1 || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: viz sanity needs -model FILE, -data SPEC, -n ≥ 1, -scale ≥ 1 and no arguments", errUsage)
	}
	names, err := parseMethods(*methods)
	if err != nil {
		return err
	}
	m, err := openModel(*path, stderr)
	if err != nil {
		return err
	}
	d, err := loadData(*spec, *split, m)
	if err != nil {
		return err
	}
	idx := sample(d.Len(), *n)
	if len(idx) == 0 {
		return fmt.Errorf("viz sanity: %s holds no images", *spec)
	}
	x, err := inputs(m, d, idx)
	if err != nil {
		return err
	}
	ms := make([]allcnn.Method, len(names))
	for i, name := range names {
		ms[i] = allcnn.Method{Name: name}
	}
	o := allcnn.Randomization{Init: *scheme, Seed: *seed, Progress: func(step, steps int, name string) {
		fmt.Fprintf(stderr, "sanity: %d/%d randomized nets: %s\n", step, steps, name)
	}}
	s, err := allcnn.SanityChecks(m.Net(), x, ms, o)
	if errors.Is(err, allcnn.ErrRequest) {
		return fmt.Errorf("%w: viz sanity: %w", errUsage, err)
	}
	if err != nil {
		return fmt.Errorf("viz sanity: %w", err)
	}
	if *out != "" {
		if err := drawSanity(*out, s, m, d, idx[0], *scale); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	}
	if *chart != "" {
		if err := chartSanity(*chart, s); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *chart)
	}
	if *asJSON {
		r := sanityReport{Model: *path, Data: *spec, Images: len(idx), Init: *scheme, Seed: *seed, Methods: s.Methods,
			Cascade: stepsJSON(s, s.Cascade), Independent: stepsJSON(s, s.Independent)}
		for _, t := range s.Targets {
			r.Targets = append(r.Targets, t.Channel)
		}
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "model: %s (%s); %d images of %s, each explained for its top class\n", *path, m.File().Arch.Name, len(idx), *spec)
	fmt.Fprintln(stdout, "cells: Spearman / SSIM of |map| against the trained net's (1: unchanged, 0: unrelated)")
	fmt.Fprintln(stdout, "\ncascading randomization, from the class layer down:")
	sanityTable(stdout, s.Methods, s.Cascade)
	fmt.Fprintln(stdout, "\nindependent randomization, one layer at a time:")
	sanityTable(stdout, s.Methods, s.Independent)
	return nil
}

// sanityTable prints a row per step and a Spearman / SSIM column per
// method.
func sanityTable(w io.Writer, methods []string, steps []allcnn.SanityStep) {
	first := len("step")
	for _, st := range steps {
		first = max(first, len(stepLabel(st)))
	}
	width := len("-0.00/-0.00")
	for _, m := range methods {
		width = max(width, len(m))
	}
	fmt.Fprintf(w, "%-*s", first, "step")
	for _, m := range methods {
		fmt.Fprintf(w, "  %*s", width, m)
	}
	fmt.Fprintln(w)
	for _, st := range steps {
		fmt.Fprintf(w, "%-*s", first, stepLabel(st))
		for _, c := range st.Scores {
			fmt.Fprintf(w, "  %*s", width, fmt.Sprintf("%.2f/%.2f", c.Spearman, c.SSIM))
		}
		fmt.Fprintln(w)
	}
}

// stepsJSON turns steps into the rows of the JSON report.
func stepsJSON(s *allcnn.Sanity, steps []allcnn.SanityStep) []sanityStepJSON {
	var out []sanityStepJSON
	for _, st := range steps {
		r := sanityStepJSON{Name: st.Name, Randomized: st.Randomized, Scores: map[string]sanityScoreJSON{}}
		if r.Randomized == nil {
			r.Randomized = []string{}
		}
		for j, c := range st.Scores {
			r.Scores[s.Methods[j]] = sanityScoreJSON{Spearman: c.Spearman, SpearmanSigned: c.SpearmanSigned, SSIM: c.SSIM}
		}
		out = append(out, r)
	}
	return out
}

// stepLabel names a step for people: its name, with the layers between
// the first and the last randomized left out past two ("conv9+...+conv7").
func stepLabel(st allcnn.SanityStep) string {
	if l := st.Randomized; len(l) > 2 {
		return l[0] + "+...+" + l[len(l)-1]
	}
	return st.Name
}

// drawSanity draws the cascade of the first image (data set index img) to
// path: a row per step, labelled, a column per method; the first row also
// shows the image.
func drawSanity(path string, s *allcnn.Sanity, m *allcnn.Model, d *dataset.Dataset, img, scale int) error {
	px, err := pixels(m, d, []int{img})
	if err != nil {
		return err
	}
	in := m.Net().Spec.Input
	opt := render.Options{Reduce: render.Sum, Sign: render.Absolute, Clip: 99.5, Colormap: render.Gray}
	header := append([]string{"randomized"}, s.Methods...)
	var rows [][]render.Cell
	for k, st := range s.Cascade {
		row := []render.Cell{{Label: stepLabel(st)}}
		if k == 0 {
			input, err := render.Pixels(px.Example(0), in[0], in[1], in[2])
			if err != nil {
				return err
			}
			row[0].Image = input
		}
		for j, mp := range st.First {
			c, err := render.Map(mp, in[0], in[1], in[2], opt, nil)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", st.Name, s.Methods[j], err)
			}
			row = append(row, render.Cell{Image: c, Label: fmt.Sprintf("%.2f/%.2f", st.Scores[j].Spearman, st.Scores[j].SSIM)})
		}
		rows = append(rows, row)
	}
	grid, err := render.Grid(rows, scale, header)
	if err != nil {
		return err
	}
	return writePNG(path, grid)
}
