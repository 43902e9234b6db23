// Command allcnn is the user's tool for All Convolutional Nets: list the
// paper's architectures, make and inspect weight files.
//
//	allcnn models [-json]
//	allcnn init -arch all-cnn-c [-classes 10] [-width 1] [-seed 1] -o FILE
//	allcnn inspect [-json] FILE
//	allcnn export -format onnx -o M.onnx MODEL.msgpack
//	allcnn import -o MODEL.msgpack [-mean R,G,B -std R,G,B] [-classes FILE] M.onnx
//	allcnn serve [-addr 127.0.0.1:8080] [-dir dist/web]
//
// Run "allcnn help COMMAND" for each command's flags. A flag has one meaning
// in every command: -model FILE is a weight file, -arch NAME|FILE.json an
// architecture.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/allcnn/allcnn/internal/cliflag"
	"github.com/allcnn/allcnn/native"
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"models":  {"list the paper's architectures with parameters, MACs and output shape", runModels},
	"init":    {"write a freshly initialized weight file", runInit},
	"inspect": {"show what a weight file holds and check it", runInspect},
	"predict": {"classify images with a model", runPredict},
	"eval":    {"measure top-1 and top-5 error on a data set", runEval},
	"viz":     {"draw saliency maps, filters and top patches (paper Figs. 2–6); sanity checks", runViz},
	"bench":   {"training and inference speed, beside PyTorch's (peer_torch.py)", runBench},
	"serve":   {"serve the browser demo built by 'make web' (dist/web)", runServe},
	"export":  {"write a model as ONNX, for ONNX Runtime", runExport},
	"import":  {"make a weight file of an ONNX model (a PyTorch net, say)", runImport},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "allcnn: the All Convolutional Net (Springenberg et al., ICLR 2015) in Go.")
	fmt.Fprintln(w, "\nUsage: allcnn COMMAND [flags] [args]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'allcnn COMMAND -help' for the flags of a command.")
}

// errUsage marks an error the user fixes by changing the command line.
var errUsage = errors.New("usage")

func main() {
	// OpenBLAS (where the build has it) behind the kernel, which spreads
	// its work over every core; bench sets its own thread count.
	native.Setup(0)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "-help" || name == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return exit(c.run([]string{"-help"}, stdout, stderr), stderr)
			}
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "allcnn: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	return exit(c.run(args[1:], stdout, stderr), stderr)
}

// exit prints err, if any, and returns the exit status: 2 for a usage
// error. The root package's errors start with "allcnn: " already.
func exit(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "allcnn:", strings.TrimPrefix(err.Error(), "allcnn: "))
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// flags makes a FlagSet that prints its usage to stderr and returns errors.
func flags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: allcnn %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// archUsage is the help of -arch.
const archUsage = "architecture: a model of 'allcnn models', or a JSON architecture file (a value that ends in .json or names an existing file)"

// archFlag adds -arch, with its default, and -model, its old spelling in
// init and bench (see oldModel), to fs.
func archFlag(fs *flag.FlagSet, def string) *string {
	fs.String("model", "", "the old spelling of -arch NAME, accepted with a warning until the next release")
	return fs.String("arch", def, archUsage)
}

// parse parses flags and wraps failures as usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// oldModel accepts -model NAME for -arch NAME, with a warning
// (cliflag.OldModel); both at once is a usage error.
func oldModel(fs *flag.FlagSet) error {
	if err := cliflag.OldModel(fs, "allcnn"); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}
