package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allcnn/allcnn/format"
)

// buildCommand builds allcnn-train into a temporary folder.
func buildCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "allcnn-train")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeData writes 3 classes of 8 noisy 8×8 PNGs.
func writeData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	for c, class := range []string{"red", "green", "blue"} {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		for i := 0; i < 8; i++ {
			im := image.NewRGBA(image.Rect(0, 0, 8, 8))
			for j := range im.Pix {
				v := 40 + rng.IntN(60)
				if j%4 == c {
					v += 120
				}
				if j%4 == 3 {
					v = 255
				}
				im.Pix[j] = uint8(v)
			}
			var b bytes.Buffer
			png.Encode(&b, im)
			os.WriteFile(filepath.Join(dir, class, string(rune('a'+i))+".png"), b.Bytes(), 0o644)
		}
	}
	return dir
}

// A wide 1×1 layer makes the checkpoint (weights and momentum, ~2.3 MB) slow
// to write next to an epoch of 18 tiny images, so that random kills often
// land during a checkpoint write.
const killArch = `{"name":"wide","input":[3,8,8],"layers":[
 {"type":"conv","name":"conv1","out":256,"kernel":3,"pad":1},{"type":"relu"},
 {"type":"conv","name":"conv2","out":512,"kernel":1},{"type":"relu"},
 {"type":"dropout","p":0.5},
 {"type":"conv","name":"conv3","out":3,"kernel":1},{"type":"gap","name":"gap"}]}`

// TestKillAndResume kills allcnn-train with SIGKILL at random moments,
// including while it writes a checkpoint, resumes each time, and checks
// that the finished model equals that of an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a process many times")
	}
	bin := buildCommand(t)
	data := writeData(t)
	arch := filepath.Join(t.TempDir(), "wide.json")
	os.WriteFile(arch, []byte(killArch), 0o644)
	const epochs = "16"
	args := func(out string) []string {
		return []string{"-data", "folder:" + data, "-arch", arch, "-val", "2", "-epochs", epochs, "-batch", "6",
			"-schedule", "6", "-augment", "-preprocess", "channel", "-threads", "1", "-out", out}
	}
	root := t.TempDir()
	straight := filepath.Join(root, "straight")
	if out, err := exec.Command(bin, args(straight)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	run := filepath.Join(root, "killed")
	rng := rand.New(rand.NewPCG(5, 6))
	kills, midWrite := 0, 0
	cmdArgs := args(run)
	for attempt := 0; ; attempt++ {
		if attempt == 100 {
			t.Fatalf("the run did not finish after %d kills", kills)
		}
		cmd := exec.Command(bin, cmdArgs...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Odd attempts kill the moment a temporary checkpoint file appears
		// (mid-write); even ones at a random moment; after eight kills the
		// run may finish.
		var kill <-chan time.Time
		if attempt < 8 {
			if attempt%2 == 0 {
				kill = time.After(time.Duration(50+rng.IntN(300)) * time.Millisecond)
			} else {
				kill = tempAppears(run, done)
			}
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run failed after %d kills: %v\n%s", kills, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "wrote") {
				t.Fatalf("run ended without a model:\n%s", stderr.String())
			}
		case <-kill:
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			if tmp, _ := filepath.Glob(filepath.Join(run, ".checkpoint.msgpack.tmp*")); len(tmp) > 0 {
				midWrite++
			}
			// Once a checkpoint exists, the run continues from it.
			if _, err := os.Stat(filepath.Join(run, "checkpoint.msgpack")); err == nil {
				cmdArgs = []string{"-resume", run, "-threads", "1"}
			}
			continue
		}
		break
	}
	t.Logf("%d kills, %d of them while a checkpoint was being written", kills, midWrite)
	if midWrite == 0 {
		t.Fatal("no kill landed during a checkpoint write")
	}
	a, err := format.ReadFile(filepath.Join(straight, "model.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := format.ReadFile(filepath.Join(run, "model.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	for i, ta := range a.Tensors {
		tb := b.Tensors[i]
		for j := range ta.Data {
			if ta.Data[j] != tb.Data[j] {
				t.Fatalf("%s[%d]: %v uninterrupted, %v after kills", ta.Name, j, ta.Data[j], tb.Data[j])
			}
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	if n := strings.Count(string(metrics), "\n"); n != 16 {
		t.Fatalf("metrics.jsonl has %d lines, want 16", n)
	}
}

// tempAppears fires as soon as a temporary checkpoint file exists in dir.
func tempAppears(dir string, done <-chan error) <-chan time.Time {
	c := make(chan time.Time, 1)
	go func() {
		for i := 0; i < 200000; i++ {
			if tmp, _ := filepath.Glob(filepath.Join(dir, ".checkpoint.msgpack.tmp*")); len(tmp) > 0 {
				c <- time.Now()
				return
			}
			if len(done) > 0 {
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	return c
}

func TestUsageAndErrors(t *testing.T) {
	bin := buildCommand(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-help"}, 0, "Usage"},
		{[]string{"-bogus"}, 2, "bogus"},
		{[]string{"-dropout", "0.5"}, 2, "dropout"},
		{[]string{"-data", "folder:/nonexistent", "-out", t.TempDir()}, 1, "nonexistent"},
		{[]string{"-resume", t.TempDir()}, 1, "checkpoint"},
		{[]string{"export"}, 2, "export"},
		{[]string{"sweep", "-lrs", "x"}, 2, "lrs"},
		{[]string{"-help"}, 0, "-recipe"},
		{[]string{"-recipe", "slow"}, 2, "-recipe \"slow\""},
		{[]string{"-recipe", "fast", "-resume", t.TempDir()}, 2, "-recipe does not apply"},
		{[]string{"-norm", "layer", "-data", "folder:/nonexistent", "-out", t.TempDir()}, 1, "norm \"layer\""},
		{[]string{"-lr-schedule", "cosine", "-data", "folder:/nonexistent", "-out", t.TempDir()}, 1, "lr schedule \"cosine\""},
		{[]string{"-arch", "/nonexistent.json", "-width", "0.5"}, 2, "-width does not apply with -arch"},
		{[]string{"-warmup", "2"}, 2, "-warmup does not apply"},
		{[]string{"-help"}, 0, "a model of 'allcnn models', or a JSON architecture file"},
		{[]string{"-model", "all-cnn-c", "-data", "folder:/nonexistent", "-out", t.TempDir()}, 1, "warning: -model all-cnn-c is now -arch all-cnn-c"},
		{[]string{"-help"}, 0, "0.01 for large-all-cnn"},
	} {
		cmd := exec.Command(bin, c.args...)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: exit %d, want %d, output %q", c.args, code, c.code, out)
		}
	}
}

// TestFlagsThatDoNotApply: a flag given on the command line that would
// change nothing is a usage error naming it; the same value set by a
// recipe is not.
func TestFlagsThatDoNotApply(t *testing.T) {
	arch := filepath.Join(t.TempDir(), "wide.json")
	if err := os.WriteFile(arch, []byte(killArch), 0o644); err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	for _, c := range []struct {
		args  []string
		sweep bool
		want  string // "" for no error
	}{
		{[]string{"-arch", arch, "-width", "0.5"}, false, "-width does not apply with -arch"},
		{[]string{"-arch", arch, "-classes", "3"}, false, "-classes does not apply with -arch"},
		{[]string{"-arch", arch, "-model", "all-cnn-a"}, false, "-model all-cnn-a is the old spelling of -arch"},
		{[]string{"-arch", arch}, false, ""},
		{[]string{"-arch", "all-cnn-a", "-width", "0.5", "-classes", "3"}, false, ""},
		{[]string{"-model", "all-cnn-a", "-width", "0.5", "-classes", "3"}, false, ""},
		{[]string{"-model", arch, "-width", "0.5"}, false, "-width does not apply with -arch"},
		{[]string{"-recipe", "fast", "-arch", arch}, false, ""}, // the recipe's -arch and -width
		{[]string{"-resize", "256", "-data", "cifar10:/x"}, false, "-resize does not apply to cifar10:/x"},
		{[]string{"-resize", "256", "-data", "folder:/x"}, false, ""},
		{[]string{"-warmup", "3"}, false, "-warmup does not apply with -lr-schedule step"},
		{[]string{"-warmup", "3", "-lr-schedule", "onecycle"}, false, ""},
		{[]string{"-recipe", "fast", "-warmup", "3"}, false, ""},
		{[]string{"-recipe", "fast", "-lr-schedule", "step"}, false, ""}, // the recipe's -warmup
		{[]string{"-recipe", "fast", "-schedule", "10"}, false, "-schedule does not apply with -lr-schedule onecycle"},
		{[]string{"-lr-schedule", "onecycle", "-gamma", "0.5"}, false, "-gamma does not apply"},
		{[]string{"-schedule", "10", "-gamma", "0.5"}, false, ""},
		{[]string{"-resume", run, "-lr", "0.1"}, false, "-lr does not apply with -resume"},
		{[]string{"-resume", run, "-recipe", "fast"}, false, "-recipe does not apply"},
		{[]string{"-resume", run, "-epochs", "5", "-threads", "1", "-json"}, false, ""},
		{[]string{"-lr", "0"}, false, "-lr 0: want a positive rate"},
		{[]string{"-lr", "-1"}, false, "-lr -1"},
		{[]string{"-lr", "0.1"}, true, "-lr does not apply to sweep"},
		{[]string{"-lrs", "0.1"}, true, ""},
	} {
		var o options
		name := "allcnn-train"
		if c.sweep {
			name += " sweep"
		}
		fs := newFlags(name, &o, io.Discard, c.sweep)
		err := parseFlags(fs, &o, c.args)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v", name, c.args, err)
		case c.want != "" && (!errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %v: want a usage error containing %q, got %v", name, c.args, c.want, err)
		}
	}
	// paper: -arch (and its old spelling), and -val 0 (a table of held-out
	// errors without any).
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-arch", "all-cnn-c"}, "-arch does not apply to paper"},
		{[]string{"-arch", arch}, "-arch does not apply to paper"},
		{[]string{"-model", "all-cnn-c"}, "-arch does not apply to paper"},
		{[]string{"-val", "0"}, "-val must be > 0"},
	} {
		err := runPaper(context.Background(), c.args, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("paper %v: want a usage error containing %q, got %v", c.args, c.want, err)
		}
	}
}

// TestDefaultLR: without -lr each model trains at its own rate (the Large
// All-CNN diverges at the CIFAR models' 0.05); -lr and recipes win.
func TestDefaultLR(t *testing.T) {
	arch := filepath.Join(t.TempDir(), "wide.json")
	if err := os.WriteFile(arch, []byte(killArch), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want float64
	}{
		{nil, 0.05},
		{[]string{"-arch", "large-all-cnn"}, 0.01},
		{[]string{"-arch", "imagenet-all-cnn"}, 0.01},
		{[]string{"-arch", "large-all-cnn", "-lr", "0.1"}, 0.1},
		{[]string{"-model", "large-all-cnn"}, 0.01},
		{[]string{"-arch", arch}, 0.05},
		{[]string{"-recipe", "fast"}, 0.2},
	} {
		var o options
		fs := newFlags("allcnn-train", &o, io.Discard, false)
		if err := parseFlags(fs, &o, c.args); err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if o.cfg.LR != c.want {
			t.Errorf("%v: lr %v, want %v", c.args, o.cfg.LR, c.want)
		}
	}
	var help bytes.Buffer
	fs := newFlags("allcnn-train", &options{}, &help, false)
	fs.PrintDefaults()
	if !strings.Contains(help.String(), "0.01 for large-all-cnn") {
		t.Errorf("-help does not give the models' rates:\n%s", help.String())
	}
}

// TestArch: -arch is a zoo model's name, or a JSON architecture file (a
// value that ends in .json or names an existing file); -model NAME, its old
// spelling, works as before with a warning, and a recipe does not override
// it.
func TestArch(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "wide.json")
	plain := filepath.Join(dir, "wide") // an existing file without .json
	for _, p := range []string{arch, plain} {
		if err := os.WriteFile(p, []byte(killArch), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const warning = "allcnn-train: warning: -model large-all-cnn is now -arch large-all-cnn (the old spelling goes in the next release)\n"
	for _, c := range []struct {
		args   []string
		model  string // cfg.Model
		spec   string // cfg.Spec.Name; "" for a zoo model
		width  float64
		stderr string
		err    string // an error containing this; "" for none
	}{
		{nil, "all-cnn-c", "", 1, "", ""},
		{[]string{"-arch", "large-all-cnn", "-width", "0.5"}, "large-all-cnn", "", 0.5, "", ""},
		{[]string{"-arch", arch}, "all-cnn-c", "wide", 1, "", ""},
		{[]string{"-arch", plain}, "all-cnn-c", "wide", 1, "", ""},
		{[]string{"-recipe", "fast"}, "all-cnn-c", "", 0.75, "", ""},
		{[]string{"-recipe", "fast", "-arch", "large-all-cnn"}, "large-all-cnn", "", 0.75, "", ""},
		{[]string{"-model", "large-all-cnn", "-width", "0.5"}, "large-all-cnn", "", 0.5, warning, ""},
		{[]string{"-recipe", "fast", "-model", "large-all-cnn"}, "large-all-cnn", "", 0.75, warning, ""},
		{[]string{"-model", "large-all-cnn", "-arch", "all-cnn-a"}, "", "", 0, "", "-model large-all-cnn is the old spelling of -arch; give -arch alone"},
		{[]string{"-arch", filepath.Join(dir, "missing.json")}, "", "", 0, "", "missing.json"}, // a file, not a zoo name
	} {
		var o options
		var stderr bytes.Buffer
		fs := newFlags("allcnn-train", &o, &stderr, false)
		err := parseFlags(fs, &o, c.args)
		if c.err != "" || err != nil {
			if c.err == "" || err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want one containing %q", c.args, err, c.err)
			}
			continue
		}
		if o.cfg.Model != c.model || o.cfg.Spec.Name != c.spec || o.cfg.Width != c.width || stderr.String() != c.stderr {
			t.Errorf("%v: model %q, spec %q, width %v, stderr %q; want %q, %q, %v, %q",
				c.args, o.cfg.Model, o.cfg.Spec.Name, o.cfg.Width, stderr.String(), c.model, c.spec, c.width, c.stderr)
		}
	}
}
