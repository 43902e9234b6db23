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
// the epoch's metrics as one JSON line on JSON.
type Printer struct {
	W        io.Writer
	Terminal bool
	JSON     io.Writer // optional
	Epochs   int

	start    time.Time
	lastLine time.Time
	epoch    int
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

func (p *Printer) Step(epoch, done, total int, loss, acc float64) {
	now := time.Now()
	if epoch != p.epoch {
		p.epoch, p.start, p.lastLine = epoch, now, now
	}
	el := now.Sub(p.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	eta := time.Duration(float64(total-done) / max(rate, 1e-9) * float64(time.Second)).Round(time.Second)
	if p.Terminal {
		const width = 30
		fill := width * done / max(total, 1)
		fmt.Fprintf(p.W, "\r epoch %d/%d [%s%s] %d/%d  %.0f img/s  ETA %v  loss %.4f  acc %.1f%%  ",
			epoch, p.Epochs, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, rate, eta, loss, 100*acc)
		return
	}
	if now.Sub(p.lastLine) >= 10*time.Second {
		p.lastLine = now
		fmt.Fprintf(p.W, "epoch %d/%d: %d/%d images, %.0f img/s, ETA %v, loss %.4f, acc %.1f%%\n",
			epoch, p.Epochs, done, total, rate, eta, loss, 100*acc)
	}
}

func (p *Printer) Epoch(m EpochMetrics) {
	if p.Terminal {
		fmt.Fprint(p.W, "\r\033[K")
	}
	fmt.Fprintf(p.W, "epoch %d/%d: train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%% | lr %g | %.0f img/s, %.0fs\n",
		m.Epoch, p.Epochs, m.TrainLoss, 100*m.TrainAcc, m.ValLoss, 100*m.ValAcc, m.LR, m.ImgPerSec, m.Seconds)
	if p.JSON != nil {
		json.NewEncoder(p.JSON).Encode(m)
	}
}
