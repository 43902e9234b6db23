package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/internal/cliflag"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// cifar10Classes are CIFAR-10's class names in label order.
var cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// loadSpec returns the architecture that -arch names: a model of the zoo,
// with classes and width, or a JSON architecture file (isArchFile). -width
// and -classes apply to a zoo model only: given on fs's command line with a
// file, they are usage errors.
func loadSpec(fs *flag.FlagSet, arch string, classes int, width float64) (*kernel.Spec, error) {
	if cliflag.IsArchFile(arch) {
		given := cliflag.Given(fs)
		for _, f := range []string{"width", "classes"} {
			if given[f] {
				return nil, fmt.Errorf("%w: -%s does not apply with -arch %s: an architecture file fixes the layers, their widths and the classes (-width and -classes apply to a model of 'allcnn models')", errUsage, f, arch)
			}
		}
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
	s, err := kernel.ZooSpec(arch, classes, width)
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
	fs := flags("init", "init [-arch all-cnn-c] [-classes N] [-width W] [-seed N] [-init he] [-dtype f32] -o FILE\n       allcnn init -arch SPEC.json [-seed N] [-init he] [-dtype f32] -o FILE", stderr)
	arch := archFlag(fs, "all-cnn-c")
	classes := fs.Int("classes", 0, "number of classes of a zoo -arch (0: the model's default)")
	width := fs.Float64("width", 1, "width multiplier of a zoo -arch's hidden layers")
	seed := fs.Uint64("seed", 1, "random seed of the initialization")
	scheme := fs.String("init", "he", "weight initialization: "+strings.Join(kernel.InitSchemes, ", "))
	dtype := fs.String("dtype", "f32", "storage type of the weights: f32 or f16")
	out := fs.String("o", "", "output weight file (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oldModel(fs); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: init needs -o FILE and no arguments", errUsage)
	}
	if *dtype != string(format.F32) && *dtype != string(format.F16) {
		return fmt.Errorf("%w: -dtype %q (want f32 or f16)", errUsage, *dtype)
	}
	s, err := loadSpec(fs, *arch, *classes, *width)
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
