package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/optim"
)

// benchResult has the fields of ../shared/bench/peer_torch.py's JSON line,
// measured the same way: random weights and inputs, dropout on while
// training, an SGD step with momentum and weight decay per training step.
type benchResult struct {
	Model       string  `json:"model"`
	Backend     string  `json:"backend"`
	Threads     int     `json:"threads"`
	Params      int     `json:"params"`
	Batch       int     `json:"batch"`
	TrainImgS   float64 `json:"train_img_s"`
	InferImgS   float64 `json:"infer_img_s"`
	InferMsB1   float64 `json:"infer_ms_b1"`
	GuidedMsB1  float64 `json:"guided_backprop_ms_b1"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	Repetitions int     `json:"repetitions"`
	Rounds      int     `json:"rounds"`
	Winograd    bool    `json:"winograd"`
	Norm        string  `json:"norm"` // "batch": the training figure with batch norm after each convolution
	AVX512      bool    `json:"avx512"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench", "bench [-arch all-cnn-c] [-width 1] [-batch 64] [-threads N] [-runs 5] [-peer PATH] [-json]", stderr)
	arch := archFlag(fs, "all-cnn-c")
	width := fs.Float64("width", 1, "width multiplier of a zoo -arch")
	batch := fs.Int("batch", 64, "batch size of the training and inference figures")
	threads := fs.Int("threads", runtime.NumCPU(), "threads (goroutines) the kernel spreads each layer over")
	runs := fs.Int("runs", 5, "timed repetitions per figure (the median is reported); b1 figures use 4× as many")
	peer := fs.String("peer", "", "also run this peer_torch.py (with /usr/bin/python3) and print the ratios")
	rounds := fs.Int("rounds", 1, "measure everything (and run the peer) this many times, alternating, and report each figure's median over the rounds")
	winograd := fs.Bool("winograd", true, "use Winograd F(m×m, 3×3) where it pays (false: im2col + GEMM for every convolution)")
	avx512 := fs.Bool("avx512", true, "multiply on the AVX-512 Sgemm where the CPU has AVX-512 (false: OpenBLAS or gonum alone; the same as ALLCNN_AVX512=0)")
	norm := fs.String("norm", "none", "batch: measure training with batch normalisation after every convolution but the class layer, as 'allcnn-train -norm batch' trains (the inference figures run the folded, plain net)")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file (for go tool pprof)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oldModel(fs); err != nil {
		return err
	}
	if *batch < 1 || *runs < 1 || *threads < 1 || *rounds < 1 {
		return fmt.Errorf("%w: -batch, -runs, -rounds and -threads must be ≥ 1", errUsage)
	}
	info := native.Config{Threads: *threads, NoAVX512: !*avx512}.Setup()
	opts := info.Kernel
	if !*winograd {
		opts.Conv = kernel.ConvIm2col
	}
	s, err := loadSpec(fs, *arch, 0, *width)
	if err != nil {
		return err
	}
	if *norm != "none" && *norm != "batch" {
		return fmt.Errorf("%w: -norm %q (want none or batch)", errUsage, *norm)
	}
	if *norm == "batch" {
		bn, err := kernel.WithBatchNorm(*s)
		if err != nil {
			return err
		}
		s = &bn
	}
	tnet, err := opts.Build(*s)
	if err != nil {
		return err
	}
	if err := tnet.Init("he", 1); err != nil {
		return err
	}
	net := tnet // the net of the inference figures: folded when tnet has batch norm
	if *norm == "batch" {
		if net, err = kernel.FoldBatchNorm(tnet); err != nil {
			return err
		}
	}
	p, _ := s.ParamCount()
	r := benchResult{Model: s.Name, Backend: info.Backend, Threads: info.Threads, Params: p, Batch: *batch, Repetitions: *runs, Winograd: *winograd, AVX512: info.AVX512, Norm: *norm}
	fmt.Fprintf(stderr, "bench: %s, %d parameters, %s\n", s.Name, p, info)

	in, k := s.Input, net.Classes()
	rng := rand.New(rand.NewPCG(0, 0))
	randn := func(n int) *kernel.Tensor {
		t := kernel.NewTensor(n, in[0], in[1], in[2])
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64())
		}
		return t
	}
	x, x1 := randn(*batch), randn(1)
	labels := make([]int, *batch)
	for i := range labels {
		labels[i] = rng.IntN(k)
	}
	opt := optim.SGD{Momentum: 0.9, WeightDecay: 1e-3}
	params := tnet.Params()
	dl := kernel.NewTensor(*batch, k, 1, 1)
	step := func() {
		y, _ := tnet.Forward(x, true)
		kernel.SoftmaxCrossEntropy(y.Data, k, labels, dl.Data)
		tnet.ZeroGrad()
		tnet.Backward(dl, kernel.Pass{Params: true})
		opt.Step(params, 0.01)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	guided := kernel.Rule{ReLU: kernel.Guided}
	measure := func() (train, infer, b1, gb1 float64) {
		train = float64(*batch) / median(step, *runs)
		infer = float64(*batch) / median(func() { net.Forward(x, false) }, *runs)
		b1 = 1000 * median(func() { net.Forward(x1, false) }, 4**runs)
		gb1 = 1000 * median(func() {
			// One forward and one backward pass, for the top class of the
			// image, as peer_torch.py does.
			net.Saliency(x1, []kernel.Target{{Channel: kernel.Strongest}}, guided)
		}, 4**runs)
		return
	}
	var ours [4][]float64
	peers := map[string][]float64{}
	for round := range *rounds {
		if *rounds > 1 {
			fmt.Fprintf(stderr, "bench: round %d of %d\n", round+1, *rounds)
		}
		t, i, b, g := measure()
		if *rounds > 1 {
			fmt.Fprintf(stderr, "bench: train %.1f img/s, inference %.1f img/s, batch 1 %.2f ms, guided %.2f ms\n", t, i, b, g)
		}
		for k, v := range []float64{t, i, b, g} {
			ours[k] = append(ours[k], v)
		}
		if *peer == "" {
			continue
		}
		fmt.Fprintf(stderr, "bench: running %s with %d threads\n", *peer, *threads)
		cmd := exec.Command("/usr/bin/python3", *peer, fmt.Sprint(*threads))
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("peer %s: %v", *peer, err)
		}
		var m map[string]float64
		if err := json.Unmarshal(lastLine(out), &m); err != nil {
			return fmt.Errorf("peer %s: %v: %q", *peer, err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m["peak_rss_mib"] = float64(ru.Maxrss) / 1024
		}
		for k, v := range m {
			peers[k] = append(peers[k], v)
		}
	}
	r.TrainImgS, r.InferImgS, r.InferMsB1, r.GuidedMsB1 = mid(ours[0]), mid(ours[1]), mid(ours[2]), mid(ours[3])
	r.Rounds = *rounds
	r.PeakRSSMiB = peakRSS()
	var peerOut map[string]float64
	if *peer != "" {
		peerOut = map[string]float64{}
		for k, vs := range peers {
			peerOut[k] = mid(vs)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"allcnn": r, "peer": peerOut})
	}
	fmt.Fprintf(stdout, "%-28s %12s", "figure", "allcnn")
	if peerOut != nil {
		fmt.Fprintf(stdout, " %12s %8s", "peer", "ratio")
	}
	fmt.Fprintln(stdout)
	row := func(name, key string, v float64, higherBetter bool) {
		fmt.Fprintf(stdout, "%-28s %12.2f", name, v)
		if pv, ok := peerOut[key]; ok && pv > 0 {
			ratio := v / pv
			if !higherBetter {
				ratio = pv / v
			}
			fmt.Fprintf(stdout, " %12.2f %7.2f×", pv, ratio)
		}
		fmt.Fprintln(stdout)
	}
	row(fmt.Sprintf("train img/s (batch %d)", *batch), fmt.Sprintf("train_img_s_b%d", *batch), r.TrainImgS, true)
	row(fmt.Sprintf("inference img/s (batch %d)", *batch), fmt.Sprintf("infer_img_s_b%d", *batch), r.InferImgS, true)
	row("inference ms (batch 1)", "infer_ms_b1", r.InferMsB1, false)
	row("guided backprop ms (batch 1)", "guided_backprop_ms_b1", r.GuidedMsB1, false)
	row("peak RSS MiB", "peak_rss_mib", r.PeakRSSMiB, false)
	if *rounds > 1 {
		fmt.Fprintf(stdout, "medians of %d rounds", *rounds)
		if peerOut != nil {
			fmt.Fprint(stdout, ", allcnn and the peer alternating")
		}
		fmt.Fprintln(stdout)
	}
	if peerOut != nil {
		fmt.Fprintln(stdout, "ratio: allcnn's speed over the peer's (> 1 means allcnn is faster)")
	}
	return nil
}

// mid is the median of vs (the mean of the middle two for an even count).
func mid(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// median times f after two warm-up calls and returns the median seconds.
func median(f func(), n int) float64 {
	f()
	f()
	ts := make([]float64, n)
	for i := range ts {
		t0 := time.Now()
		f()
		ts[i] = time.Since(t0).Seconds()
	}
	sort.Float64s(ts)
	return ts[n/2]
}

// peakRSS is the process's peak resident memory (Linux reports KiB).
func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

func lastLine(b []byte) []byte {
	end := len(b)
	for end > 0 && (b[end-1] == '\n' || b[end-1] == ' ') {
		end--
	}
	start := end
	for start > 0 && b[start-1] != '\n' {
		start--
	}
	return b[start:end]
}
