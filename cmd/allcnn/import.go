package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/onnx"
)

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := flags("import", `import -o MODEL.msgpack [-mean R,G,B -std R,G,B] [-class-names FILE] [-size H,W] [-name NAME] [-dtype f32] M.onnx

Reads an ONNX model (a PyTorch net exported by torch.onnx.export, say)
into a weight file that predict, viz, serve and the browser module load.
The graph must be a chain from one N×C×H×W input to N×classes outputs of
Conv, Relu, LeakyRelu, MaxPool, AveragePool, LpPool, GlobalAveragePool,
Dropout, BatchNormalization (folded into the convolution before it),
Flatten and Gemm after global pooling (as a 1×1 convolution), and a final
Softmax (dropped: the file's net gives logits); anything else is an error
naming the node and its operator. -mean and -std give the input
normalisation the net was trained with, torchvision style: pixels scaled
to [0, 1], then (x − mean)/std per channel; without them the net takes
pixels scaled to [0, 1], or normalises its input itself in leading nodes,
as 'allcnn export' writes them. Flags may also follow the model.`, stderr)
	out := fs.String("o", "", "output weight file (required)")
	mean := fs.String("mean", "", "per-channel mean of the input normalisation, on the [0, 1] scale: R,G,B")
	std := fs.String("std", "", "per-channel standard deviation of the input normalisation: R,G,B")
	classesFile := fs.String("class-names", "", "file of class names, one a line (default: the model's own, else class0, class1, …)")
	size := fs.String("size", "", "the input's height and width, H,W, where the graph leaves them open")
	name := fs.String("name", "", "the architecture's name where the model does not state one (default: the file's name without .onnx)")
	dtype := fs.String("dtype", "f32", "storage type of the weights: f32 or f16")
	models, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(models) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: import needs -o FILE and one M.onnx", errUsage)
	}
	if *dtype != string(format.F32) && *dtype != string(format.F16) {
		return fmt.Errorf("%w: -dtype %q (want f32 or f16)", errUsage, *dtype)
	}
	o := onnx.Options{Name: *name}
	if o.Name == "" {
		o.Name = strings.TrimSuffix(filepath.Base(models[0]), ".onnx")
	}
	if (*mean == "") != (*std == "") {
		return fmt.Errorf("%w: -mean and -std go together", errUsage)
	}
	if *mean != "" {
		if o.Mean, err = floatList("mean", *mean); err != nil {
			return err
		}
		if o.Std, err = floatList("std", *std); err != nil {
			return err
		}
	}
	if *size != "" {
		v, err := floatList("size", *size)
		if err != nil || len(v) != 2 || v[0] != float32(int(v[0])) || v[1] != float32(int(v[1])) {
			return fmt.Errorf("%w: -size %q (want H,W, two whole numbers)", errUsage, *size)
		}
		o.Size = [2]int{int(v[0]), int(v[1])}
	}
	if *classesFile != "" {
		if o.Classes, err = readClasses(*classesFile); err != nil {
			return err
		}
	}
	b, err := readFileLimit(models[0], onnx.MaxModelSize)
	if err != nil {
		return err
	}
	f, err := onnx.Import(b, o)
	if err != nil {
		return fmt.Errorf("%s: %w", models[0], err)
	}
	for i := range f.Tensors {
		f.Tensors[i].DType = format.DType(*dtype)
	}
	if err := format.WriteFile(*out, f); err != nil {
		return err
	}
	p, _ := f.Arch.ParamCount()
	fmt.Fprintf(stdout, "wrote %s: %s, %d layers, %d parameters, %d classes; input %s; preprocess: %s\n",
		*out, f.Arch.Name, len(f.Arch.Layers), p, len(f.Classes), describeInput(f), describePreprocess(f))
	return nil
}

// floatList parses -name's comma-separated numbers.
func floatList(name, s string) ([]float32, error) {
	var v []float32
	for _, part := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(part), 32)
		if err != nil {
			return nil, fmt.Errorf("%w: -%s %q: %v", errUsage, name, s, err)
		}
		v = append(v, float32(x))
	}
	return v, nil
}

// readClasses reads class names, one a line; a last empty line and
// carriage returns are dropped.
func readClasses(path string) ([]string, error) {
	b, err := readFileLimit(path, 1<<24)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no class names", path)
	}
	return lines, nil
}

// readFileLimit reads a file of at most max bytes. Errors name the file.
func readFileLimit(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, onnx.ErrLimit, max)
	}
	return b, nil
}
