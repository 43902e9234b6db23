package trainer

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/allcnn/allcnn/internal/atomicfile"
)

// WriteCurves draws loss and accuracy per epoch, training and validation,
// side by side, as a PNG. Epochs without validation images (NoVal) have no
// validation points; a run without any has no validation lines. A run that
// averages its weights has a validation line for the average and one for
// the trained weights. An error names path.
func WriteCurves(path string, h []EpochMetrics) error {
	if len(h) == 0 {
		return nil
	}
	loss := plot.New()
	loss.Title.Text = "loss"
	loss.X.Label.Text = "epoch"
	acc := plot.New()
	acc.Title.Text = "accuracy"
	acc.X.Label.Text = "epoch"
	acc.Y.Min, acc.Y.Max = 0, 1
	if err := plotutil.AddLinePoints(loss, curveLines(h, func(m EpochMetrics) float64 { return m.TrainLoss }, func(m EpochMetrics) float64 { return m.ValLoss }, func(m EpochMetrics) float64 { return m.ValLossLive })...); err != nil {
		return fmt.Errorf("%s: loss plot: %w", path, err)
	}
	if err := plotutil.AddLinePoints(acc, curveLines(h, func(m EpochMetrics) float64 { return m.TrainAcc }, func(m EpochMetrics) float64 { return m.ValAcc }, func(m EpochMetrics) float64 { return m.ValAccLive })...); err != nil {
		return fmt.Errorf("%s: accuracy plot: %w", path, err)
	}
	acc.Legend.Top = false
	img := vgimg.New(10*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	plots := [][]*plot.Plot{{loss, acc}}
	canvases := plot.Align(plots, tiles, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("%s: png: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// curveLines is the arguments of plotutil.AddLinePoints for one plot: the
// name and points of the training series, then of the validation series
// if any epoch of h has validation (NoVal false), and of the trained
// weights' validation (live) if any epoch's weights are averaged.
func curveLines(h []EpochMetrics, train, val, live func(EpochMetrics) float64) []any {
	tr := make(plotter.XYs, 0, len(h))
	var va, li plotter.XYs
	for _, m := range h {
		tr = append(tr, plotter.XY{X: float64(m.Epoch), Y: train(m)})
		if !m.NoVal {
			va = append(va, plotter.XY{X: float64(m.Epoch), Y: val(m)})
		}
		if !m.NoVal && m.Averaged {
			li = append(li, plotter.XY{X: float64(m.Epoch), Y: live(m)})
		}
	}
	switch {
	case len(va) == 0:
		return []any{"train", tr}
	case len(li) == 0:
		return []any{"train", tr, "validation", va}
	}
	return []any{"train", tr, "validation (averaged weights)", va, "validation (trained weights)", li}
}
