package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// cifar10Classes are CIFAR-10's class names in label order.
var cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// loadSpec returns a zoo model or, when arch is set, a JSON architecture.
func loadSpec(model, arch string, classes int, width float64) (*kernel.Spec, error) {
	if arch != "" {
		f, err := os.Open(arch)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		s, err := kernel.ParseSpec(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arch, err)
		}
		return s, nil
	}
	s, err := kernel.ZooSpec(model, classes, width)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return s, nil
}

// classNames are CIFAR-10's names for 10 classes, else class0, class1, …
func classNames(n int) []string {
	if n == len(cifar10Classes) {
		return cifar10Classes
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("class%d", i)
	}
	return names
}

func runInit(args []string, stdout, stderr io.Writer) error {
	fs := flags("init", "init -model NAME [-classes N] [-width W] [-seed N] [-init he] [-dtype f32] -o FILE\n       allcnn init -arch SPEC.json ... -o FILE", stderr)
	model := fs.String("model", "all-cnn-c", "architecture from 'allcnn models'")
	arch := fs.String("arch", "", "JSON architecture file (instead of -model)")
	classes := fs.Int("classes", 0, "number of classes (0: the model's default)")
	width := fs.Float64("width", 1, "width multiplier of hidden layers")
	seed := fs.Uint64("seed", 1, "random seed of the initialization")
	scheme := fs.String("init", "he", "weight initialization: "+strings.Join(kernel.InitSchemes, ", "))
	dtype := fs.String("dtype", "f32", "storage type of the weights: f32 or f16")
	out := fs.String("o", "", "output weight file (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: init needs -o FILE and no arguments", errUsage)
	}
	if *dtype != string(format.F32) && *dtype != string(format.F16) {
		return fmt.Errorf("%w: -dtype %q (want f32 or f16)", errUsage, *dtype)
	}
	s, err := loadSpec(*model, *arch, *classes, *width)
	if err != nil {
		return err
	}
	n, err := kernel.Build(*s)
	if err != nil {
		return err
	}
	if err := n.Init(*scheme, *seed); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	meta := map[string]string{
		"created": time.Now().UTC().Format(time.RFC3339),
		"init":    fmt.Sprintf("%s, seed %d", *scheme, *seed),
		"trained": "no",
	}
	f := format.FromNet(n, classNames(n.Classes()), preprocess.Params{Kind: preprocess.None, Place: preprocess.PlaceResize}, format.DType(*dtype), meta)
	if err := format.WriteFile(*out, f); err != nil {
		return err
	}
	p, _ := s.ParamCount()
	fmt.Fprintf(stdout, "wrote %s: %s, %d parameters, %d classes\n", *out, s.Name, p, n.Classes())
	return nil
}
