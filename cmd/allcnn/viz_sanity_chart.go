package main

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/internal/atomicfile"
)

// chartSanity draws the scores as line charts (Adebayo et al.'s Fig. 4) to
// path: a row per test (cascading, independent) and a column per score
// (Spearman, SSIM), the randomized layers along x and a line per method.
func chartSanity(path string, s *allcnn.Sanity) error {
	tests := []struct {
		title string
		steps []allcnn.SanityStep
	}{{"cascading randomization", s.Cascade}, {"independent randomization", s.Independent}}
	scores := []struct {
		name string
		get  func(allcnn.Similarity) float64
	}{{"Spearman rank correlation", func(v allcnn.Similarity) float64 { return v.Spearman }},
		{"SSIM", func(v allcnn.Similarity) float64 { return v.SSIM }}}
	plots := make([][]*plot.Plot, len(tests))
	for r, tt := range tests {
		for _, sc := range scores {
			p := plot.New()
			p.Title.Text = tt.title + ": " + sc.name
			p.X.Label.Text = "randomized"
			p.Y.Min, p.Y.Max = min(0, minScore(tt.steps, sc.get)), 1
			ticks := make([]plot.Tick, len(tt.steps))
			for k, st := range tt.steps {
				ticks[k] = plot.Tick{Value: float64(k), Label: chartLabel(st)}
			}
			p.X.Tick.Marker = plot.ConstantTicks(ticks)
			p.X.Tick.Label.Rotation = 0.7
			p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
			p.Add(plotter.NewGrid())
			var lines []any
			for j, name := range s.Methods {
				xy := make(plotter.XYs, len(tt.steps))
				for k, st := range tt.steps {
					xy[k] = plotter.XY{X: float64(k), Y: sc.get(st.Scores[j])}
				}
				lines = append(lines, name, xy)
			}
			if err := plotutil.AddLinePoints(p, lines...); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			p.Legend.Top, p.Legend.Left = true, false
			plots[r] = append(plots[r], p)
		}
	}
	img := vgimg.New(12*vg.Inch, 9*vg.Inch)
	tiles := draw.Tiles{Rows: len(tests), Cols: len(scores), PadX: vg.Inch / 3, PadY: vg.Inch / 3,
		PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align(plots, tiles, draw.New(img))
	for r := range plots {
		for c, p := range plots[r] {
			p.Draw(canvases[r][c])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("%s: png: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// chartLabel is a step's tick: "trained", the layer randomized alone, or
// for a cascade step the lowest layer randomized so far ("…conv7").
func chartLabel(st allcnn.SanityStep) string {
	switch len(st.Randomized) {
	case 0:
		return "trained"
	case 1:
		return st.Randomized[0]
	}
	return "…" + st.Randomized[len(st.Randomized)-1]
}

// minScore is the least score of the steps, over the methods.
func minScore(steps []allcnn.SanityStep, get func(allcnn.Similarity) float64) float64 {
	lo := 1.0
	for _, st := range steps {
		for _, v := range st.Scores {
			lo = min(lo, get(v))
		}
	}
	return lo
}
