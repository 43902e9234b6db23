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
// side by side, as a PNG.
func WriteCurves(path string, h []EpochMetrics) error {
	if len(h) == 0 {
		return nil
	}
	series := func(f func(EpochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(h))
		for i, m := range h {
			xy[i].X, xy[i].Y = float64(m.Epoch), f(m)
		}
		return xy
	}
	loss := plot.New()
	loss.Title.Text = "loss"
	loss.X.Label.Text = "epoch"
	acc := plot.New()
	acc.Title.Text = "accuracy"
	acc.X.Label.Text = "epoch"
	acc.Y.Min, acc.Y.Max = 0, 1
	if err := plotutil.AddLinePoints(loss, "train", series(func(m EpochMetrics) float64 { return m.TrainLoss }),
		"validation", series(func(m EpochMetrics) float64 { return m.ValLoss })); err != nil {
		return err
	}
	if err := plotutil.AddLinePoints(acc, "train", series(func(m EpochMetrics) float64 { return m.TrainAcc }),
		"validation", series(func(m EpochMetrics) float64 { return m.ValAcc })); err != nil {
		return err
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
		return fmt.Errorf("curves: %w", err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
