package trainer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Printer is the Progress a person sees: on a terminal, a bar redrawn in
// place with images/s and ETA; elsewhere (a log file, CI), a plain line every
// ten seconds. After each epoch it prints a summary line, and with JSON set,
// the epoch's metrics as one JSON line on JSON; Err reports a failed JSON
// write, which stops Train.
type Printer struct {
	W        io.Writer
	Terminal bool
	JSON     io.Writer // optional
	Epochs   int

	start    time.Time // the end of the epoch's first step
	first    int       // images done by then
	lastLine time.Time
	epoch    int
	err      error
}

// NewPrinter writes to w, drawing a bar when w is a terminal.
func NewPrinter(w io.Writer, epochs int) *Printer {
	p := &Printer{W: w, Epochs: epochs}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.Terminal = true
		}
	}
	return p
}

// minRateTime is how long a Printer measures before it shows a rate: over a
// shorter time the rate is noise, and over the first step's (near zero, as
// the Printer first hears of an epoch when its first step ends) it is
// absurd.
const minRateTime = time.Second

// rateText is the rate and the time left, "1234 img/s, ETA 2m5s", for
// images done in elapsed with left still to do; "… img/s, ETA …" until
// elapsed reaches minRateTime with some images done.
func rateText(images int, elapsed time.Duration, left int) string {
	if elapsed < minRateTime || images <= 0 {
		return "… img/s, ETA …"
	}
	rate := float64(images) / elapsed.Seconds()
	eta := time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%.0f img/s, ETA %v", rate, eta)
}

func (p *Printer) Step(epoch, done, total int, loss, acc float64) {
	now := time.Now()
	if epoch != p.epoch {
		// The rate counts from the end of this first step: its own time is
		// unknown.
		p.epoch, p.start, p.first, p.lastLine = epoch, now, done, now
	}
	rate := rateText(done-p.first, now.Sub(p.start), total-done)
	if p.Terminal {
		const width = 30
		fill := width * done / max(total, 1)
		fmt.Fprintf(p.W, "\r epoch %d/%d [%s%s] %d/%d  %s  loss %.4f  acc %.1f%%  ",
			epoch, p.Epochs, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, rate, loss, 100*acc)
		return
	}
	if now.Sub(p.lastLine) >= 10*time.Second {
		p.lastLine = now
		fmt.Fprintf(p.W, "epoch %d/%d: %d/%d images, %s, loss %.4f, acc %.1f%%\n",
			epoch, p.Epochs, done, total, rate, loss, 100*acc)
	}
}

func (p *Printer) Epoch(m EpochMetrics) {
	if p.Terminal {
		fmt.Fprint(p.W, "\r\033[K")
	}
	fmt.Fprintln(p.W, epochLine(m, p.Epochs))
	if p.JSON != nil && p.err == nil {
		if err := json.NewEncoder(p.JSON).Encode(m); err != nil {
			p.err = fmt.Errorf("JSON metrics of epoch %d: %w", m.Epoch, err)
		}
	}
}

// Err is the first failed write of a JSON line, or nil.
func (p *Printer) Err() error { return p.err }

// epochLine is the summary of an epoch of epochs; without validation images
// it has no validation figures.
func epochLine(m EpochMetrics, epochs int) string {
	val := fmt.Sprintf(" | val loss %.4f acc %.2f%%", m.ValLoss, 100*m.ValAcc)
	if m.Averaged {
		val = fmt.Sprintf(" | val (averaged weights) loss %.4f acc %.2f%%, trained weights %.2f%%", m.ValLoss, 100*m.ValAcc, 100*m.ValAccLive)
	}
	if m.NoVal {
		val = ""
	}
	return fmt.Sprintf("epoch %d/%d: train loss %.4f acc %.2f%%%s | lr %g | %.0f img/s, %.0fs",
		m.Epoch, epochs, m.TrainLoss, 100*m.TrainAcc, val, m.LR, m.ImgPerSec, m.Seconds)
}
