package onnx_test

import (
	"errors"
	"fmt"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
	"github.com/allcnn/allcnn/onnx"
)

// A weight file exported to ONNX and imported back is the same model.
func ExampleExport() {
	s, _ := kernel.ZooSpec("all-cnn-c", 10, 0.125)
	n, _ := kernel.Build(*s)
	n.Init("he", 1)
	classes := []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
	prep := preprocess.Params{Kind: preprocess.Channel, Place: preprocess.PlaceResize,
		Mean: []float32{0.49, 0.48, 0.45}, Std: []float32{0.25, 0.24, 0.26}}
	b, err := onnx.Export(format.FromNet(n, classes, prep, format.F32, nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := onnx.Import(b, onnx.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Arch.Name, f.Arch.Input, len(f.Arch.Layers), "layers,", f.Classes[9], f.Preprocess.Kind)
	// Output: all-cnn-c [3 32 32] 22 layers, truck channel
}

// Import's errors wrap a sentinel: ErrMalformed for bytes that are not an
// ONNX model, ErrUnsupported for a model outside what allcnn represents.
func ExampleImport_errors() {
	_, err := onnx.Import([]byte("not a model"), onnx.Options{})
	fmt.Println(errors.Is(err, onnx.ErrMalformed))
	// Output: true
}
