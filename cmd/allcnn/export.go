package main

import (
	"fmt"
	"io"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/internal/atomicfile"
	"github.com/allcnn/allcnn/onnx"
)

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := flags("export", `export [-format onnx] -o M.onnx MODEL.msgpack

Writes the model as an ONNX model (opset 13) for ONNX Runtime and other
ONNX consumers. Its input, "pixels", is a batch of N×C×H×W float32 pixel
values in [0, 255] of images resampled to the model's source size as
predict resamples them (area averaging when shrinking, bilinear when
enlarging; inspect prints the size); the graph normalises them and places
them on the input (a canvas or a crop) as the model file says. Its output,
"probs", is N×classes softmax probabilities. The batch size is free.
Models with GCN and ZCA whitening are refused. Flags may also follow the
model.`, stderr)
	form := fs.String("format", "onnx", "output format: onnx")
	out := fs.String("o", "", "output file (required)")
	models, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(models) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: export needs -o FILE and one MODEL", errUsage)
	}
	if *form != "onnx" {
		return fmt.Errorf("%w: -format %q (want onnx)", errUsage, *form)
	}
	f, err := format.ReadFile(models[0])
	if err != nil {
		return err
	}
	b, err := onnx.Export(f)
	if err != nil {
		return fmt.Errorf("%s: %w", models[0], err)
	}
	if err := atomicfile.WriteBytes(*out, b); err != nil {
		return err
	}
	in := f.Arch.Input
	sh, sw := f.Preprocess.SourceSize(in)
	fmt.Fprintf(stdout, "wrote %s: %s, ONNX opset %d, input %q N×%d×%d×%d pixel values in [0, 255], output %q N×%d probabilities\n",
		*out, f.Arch.Name, onnx.Opset, onnx.InputName, in[0], sh, sw, onnx.OutputName, len(f.Classes))
	return nil
}
