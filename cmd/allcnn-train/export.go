package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/allcnn/allcnn/trainer"
)

// runExport writes the model of a run's last checkpoint: the weights of an
// unfinished (or still running) run.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("allcnn-train export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output weight file (required)")
	dtype := fs.String("dtype", "", "storage type: f32 or f16 (default: the run's)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: allcnn-train export [-dtype f16] -o FILE RUNDIR\n\nWrites the weights of the run's last checkpoint, with its recipe and metrics, as a weight file.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *out == "" || fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: export needs -o FILE and one RUNDIR", errUsage)
	}
	if *dtype != "" && *dtype != "f32" && *dtype != "f16" {
		return fmt.Errorf("%w: -dtype %q", errUsage, *dtype)
	}
	epoch, err := trainer.Export(fs.Arg(0), *out, *dtype)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: the weights after epoch %d of %s\n", *out, epoch, fs.Arg(0))
	return nil
}
