package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/onnx"
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
	Norm        string  `json:"norm"`   // "batch": the training figure with batch norm after each convolution
	AVX512      bool    `json:"avx512"` // the products ran on the AVX-512 Sgemm
	// Sgemm is the project's Sgemm the products ran on, which says the
	// instruction set: "avx512", "avx2", or "" (OpenBLAS or gonum alone;
	// Backend says which).
	Sgemm string `json:"sgemm"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench", "bench [-arch all-cnn-c] [-width 1] [-batch 64] [-threads N] [-runs 5] [-peer PATH] [-peer-ort PATH] [-json]", stderr)
	arch := archFlag(fs, "all-cnn-c")
	width := fs.Float64("width", 1, "width multiplier of a zoo -arch")
	batch := fs.Int("batch", 64, "batch size of the training and inference figures")
	threads := fs.Int("threads", runtime.NumCPU(), "threads (goroutines) the kernel spreads each layer over")
	runs := fs.Int("runs", 5, "timed repetitions per figure (the median is reported); batch-1 inference uses 8× as many after 10 warm-up calls, as peer_ort.mjs does, and guided maps 4× as many")
	peer := fs.String("peer", "", "also run this peer_torch.py (with /usr/bin/python3) and print the ratios")
	ortPeer := fs.String("peer-ort", "", "also run this peer_ort.mjs (ONNX Runtime's CPU build, with node) on the same net exported to ONNX, and print the ratios")
	ortModules := fs.String("ort-modules", filepath.Join("tools", "ort", "node_modules"), "with -peer-ort: the node_modules that holds onnxruntime-node ('make ort' installs it here)")
	rounds := fs.Int("rounds", 1, "measure everything (and run the peer) this many times, alternating, and report each figure's median over the rounds")
	winograd := fs.Bool("winograd", true, "use Winograd F(m×m, 3×3) where it pays (false: im2col + GEMM for every convolution)")
	avx512 := fs.Bool("avx512", true, "multiply on the AVX-512 Sgemm where the CPU has AVX-512 (false: as on a CPU with AVX2 alone; the same as ALLCNN_AVX512=0)")
	avx2 := fs.Bool("avx2", true, "multiply on the AVX2 Sgemm where the CPU has AVX2 and FMA but AVX-512 is not used (false: OpenBLAS or gonum; the same as ALLCNN_AVX2=0)")
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
	info := native.Config{Threads: *threads, NoAVX512: !*avx512, NoAVX2: !*avx2}.Setup()
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
	// The net of the inference figures: a copy of tnet's weights (folded
	// when tnet has batch norm), which the training figures do not change,
	// frozen as a loaded model's net is (allcnn.Model, kernel.Net.Freeze).
	var net *kernel.Net
	if *norm == "batch" {
		if net, err = kernel.FoldBatchNorm(tnet); err != nil {
			return err
		}
	} else if net, err = tnet.Clone(); err != nil {
		return err
	}
	p, _ := s.ParamCount()
	r := benchResult{Model: s.Name, Backend: info.Backend, Threads: info.Threads, Params: p, Batch: *batch, Repetitions: *runs, Winograd: *winograd, AVX512: info.Sgemm == "avx512", Sgemm: info.Sgemm, Norm: *norm}
	fmt.Fprintf(stderr, "bench: %s, %d parameters, %s\n", s.Name, p, info)

	var ort *ortRunner
	if *ortPeer != "" {
		if ort, err = newORTRunner(*ortPeer, *ortModules, net); err != nil {
			return err
		}
		defer ort.close()
	}

	net.Freeze()
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
		train = float64(*batch) / median(step, *runs, 2)
		infer = float64(*batch) / median(func() { net.Forward(x, false) }, *runs, 2)
		// Batch 1 as peer_ort.mjs times it: 10 warm-up calls (after the
		// batch-64 figures, whose tensors have filled the caches), then
		// 8× runs.
		b1 = 1000 * median(func() { net.Forward(x1, false) }, 8**runs, 10)
		gb1 = 1000 * median(func() {
			// One forward and one backward pass, for the top class of the
			// image, as peer_torch.py does.
			net.Saliency(x1, []kernel.Target{{Channel: kernel.Strongest}}, guided)
		}, 4**runs, 10)
		return
	}
	var ours [4][]float64
	peers, ortPeers := map[string][]float64{}, map[string][]float64{}
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
		if *peer != "" {
			fmt.Fprintf(stderr, "bench: running %s with %d threads\n", *peer, *threads)
			if err := runPeer(peers, exec.Command("/usr/bin/python3", *peer, fmt.Sprint(*threads))); err != nil {
				return fmt.Errorf("peer %s: %w", *peer, err)
			}
			if *rounds > 1 {
				fmt.Fprintf(stderr, "bench: %s\n", peerRound("peer", peers, *batch))
			}
		}
		if ort != nil {
			fmt.Fprintf(stderr, "bench: running %s with %d threads\n", *ortPeer, *threads)
			if err := runPeer(ortPeers, ort.command(*threads)); err != nil {
				return fmt.Errorf("peer %s: %w", *ortPeer, err)
			}
			if *rounds > 1 {
				fmt.Fprintf(stderr, "bench: %s\n", peerRound("onnxruntime", ortPeers, *batch))
			}
		}
	}
	r.TrainImgS, r.InferImgS, r.InferMsB1, r.GuidedMsB1 = mid(ours[0]), mid(ours[1]), mid(ours[2]), mid(ours[3])
	r.Rounds = *rounds
	r.PeakRSSMiB = peakRSS()
	medians := func(on bool, vs map[string][]float64) map[string]float64 {
		if !on {
			return nil
		}
		out := map[string]float64{}
		for k, v := range vs {
			out[k] = mid(v)
		}
		return out
	}
	peerOut, ortOut := medians(*peer != "", peers), medians(ort != nil, ortPeers)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"allcnn": r, "peer": peerOut, "peer_ort": ortOut})
	}
	columns := []struct {
		name string
		out  map[string]float64
	}{{"peer", peerOut}, {"onnxruntime", ortOut}}
	fmt.Fprintf(stdout, "%-28s %12s", "figure", "allcnn")
	for _, c := range columns {
		if c.out != nil {
			fmt.Fprintf(stdout, " %12s %8s", c.name, "ratio")
		}
	}
	fmt.Fprintln(stdout)
	row := func(name, key string, v float64, higherBetter bool) {
		fmt.Fprintf(stdout, "%-28s %12.2f", name, v)
		for _, c := range columns {
			if c.out == nil {
				continue
			}
			pv, ok := c.out[key]
			if !ok || pv <= 0 {
				fmt.Fprintf(stdout, " %12s %8s", "–", "")
				continue
			}
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
		if peerOut != nil || ortOut != nil {
			fmt.Fprint(stdout, ", allcnn and the peers alternating")
		}
		fmt.Fprintln(stdout)
	}
	if peerOut != nil || ortOut != nil {
		fmt.Fprintln(stdout, "ratio: allcnn's speed over the peer's (> 1 means allcnn is faster)")
	}
	return nil
}

// peerRound describes the figures of a peer's (name's) last round, as the
// progress lines describe ours: what it reported of training, inference at
// batch and at batch 1, and guided maps.
func peerRound(name string, figs map[string][]float64, batch int) string {
	var parts []string
	for _, f := range []struct{ key, format string }{
		{fmt.Sprintf("train_img_s_b%d", batch), "train %.1f img/s"},
		{fmt.Sprintf("infer_img_s_b%d", batch), "inference %.1f img/s"},
		{"infer_ms_b1", "batch 1 %.2f ms"},
		{"guided_backprop_ms_b1", "guided %.2f ms"},
	} {
		if v := figs[f.key]; len(v) > 0 {
			parts = append(parts, fmt.Sprintf(f.format, v[len(v)-1]))
		}
	}
	if len(parts) == 0 {
		return name + ": no figures"
	}
	return name + ": " + strings.Join(parts, ", ")
}

// runPeer runs a peer's command, reads the JSON object of its last line of
// output and its peak memory, and appends each figure to figs.
func runPeer(figs map[string][]float64, cmd *exec.Cmd) error {
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			return fmt.Errorf("%v: %s", err, lastLine(ee.Stderr))
		}
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(lastLine(out), &m); err != nil {
		return fmt.Errorf("%v: %q", err, out)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m["peak_rss_mib"] = float64(ru.Maxrss) / 1024
	}
	for k, v := range m {
		if f, ok := v.(float64); ok {
			figs[k] = append(figs[k], f)
		}
	}
	return nil
}

// ortRunner runs ../shared/bench/ort_native/peer_ort.mjs: a copy of the
// script beside a link to the node_modules that holds onnxruntime-node (node
// resolves a module's imports from the module's own folder), and the
// bench's net exported to ONNX (its inputs are the net's, preprocessing
// "none": one Div node in front).
type ortRunner struct {
	dir string
}

func newORTRunner(script, modules string, net *kernel.Net) (*ortRunner, error) {
	if in := net.Spec.Input; in != [3]int{3, 32, 32} {
		return nil, fmt.Errorf("%w: -peer-ort: peer_ort.mjs times 3×32×32 inputs; the net takes %v", errUsage, in)
	}
	src, err := os.ReadFile(script)
	if err != nil {
		return nil, fmt.Errorf("-peer-ort: %w", err)
	}
	mods, err := filepath.Abs(modules)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(mods, "onnxruntime-node")); err != nil {
		return nil, fmt.Errorf("-peer-ort: no onnxruntime-node in %s ('make ort' installs it; -ort-modules names another): %w", modules, err)
	}
	classes := make([]string, net.Classes())
	for i := range classes {
		classes[i] = fmt.Sprint("class", i)
	}
	model, err := onnx.Export(format.FromNet(net, classes, preprocess.Params{Kind: preprocess.None}, format.F32, nil))
	if err != nil {
		return nil, fmt.Errorf("-peer-ort: %w", err)
	}
	dir, err := os.MkdirTemp("", "allcnn-bench-ort-")
	if err != nil {
		return nil, err
	}
	r := &ortRunner{dir: dir}
	if err := errors.Join(os.WriteFile(filepath.Join(dir, "peer_ort.mjs"), src, 0o644),
		os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644),
		os.Symlink(mods, filepath.Join(dir, "node_modules"))); err != nil {
		r.close()
		return nil, fmt.Errorf("-peer-ort: %w", err)
	}
	return r, nil
}

func (r *ortRunner) command(threads int) *exec.Cmd {
	return exec.Command("node", filepath.Join(r.dir, "peer_ort.mjs"), filepath.Join(r.dir, "model.onnx"), fmt.Sprint(threads))
}

func (r *ortRunner) close() { os.RemoveAll(r.dir) }

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

// median times f n times after warm warm-up calls and returns the median
// seconds.
func median(f func(), n, warm int) float64 {
	for range warm {
		f()
	}
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
