package format_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// tinyModel is a two-class net on 3×8×8 images with its parameters at zero.
func tinyModel() *format.File {
	arch := kernel.Spec{Name: "tiny", Input: [3]int{3, 8, 8}, Layers: []kernel.LayerSpec{
		{Type: kernel.TypeConv, Name: "conv1", Out: 4, Kernel: 3, Pad: 1},
		{Type: kernel.TypeReLU},
		{Type: kernel.TypeConv, Name: "conv2", Out: 2, Kernel: 1},
		{Type: kernel.TypeReLU},
		{Type: kernel.TypeGAP},
	}}
	f := &format.File{
		Arch:       arch,
		Classes:    []string{"cat", "dog"},
		Preprocess: preprocess.Params{Kind: preprocess.None},
		Meta:       map[string]string{"accuracy": "0.50"},
	}
	params, err := arch.ParamShapes()
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range params {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		f.Tensors = append(f.Tensors, format.Tensor{Name: p.Name, Shape: p.Shape, DType: format.F16, Data: make([]float32, n)})
	}
	return f
}

func ExampleMarshal() {
	f := tinyModel()
	f.Tensors[0].Data[0] = 0.1 // stored as float16: rounded to 0.0999755859375
	b, err := format.Marshal(f)
	if err != nil {
		log.Fatal(err)
	}
	g, err := format.Unmarshal(b)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range g.Tensors {
		fmt.Println(t.Name, t.Shape, t.DType)
	}
	fmt.Println(g.Classes, g.Meta["accuracy"], g.Tensors[0].Data[0])
	// Output:
	// conv1.weight [4 3 3 3] f16
	// conv1.bias [4] f16
	// conv2.weight [2 4 1 1] f16
	// conv2.bias [2] f16
	// [cat dog] 0.50 0.099975586
}

func ExampleUnmarshal_errors() {
	b, err := format.Marshal(tinyModel())
	if err != nil {
		log.Fatal(err)
	}
	_, err = format.Unmarshal(b[:len(b)-1])
	fmt.Println(errors.Is(err, format.ErrTruncated))
	b[len(b)/2] ^= 1
	_, err = format.Unmarshal(b)
	fmt.Println(errors.Is(err, format.ErrChecksum))
	// Output:
	// true
	// true
}

func ExampleFile_Validate() {
	f := tinyModel()
	f.Tensors = f.Tensors[:3] // drop conv2.bias
	err := f.Validate()
	fmt.Println(err)
	fmt.Println(errors.Is(err, format.ErrMissing))
	// Output:
	// format: tensor "conv2.bias": missing
	// true
}

func ExampleFile_Tensor() {
	f := tinyModel()
	if w, ok := f.Tensor("conv1.weight"); ok {
		fmt.Println(w.Shape, len(w.Data))
	}
	// Output: [4 3 3 3] 108
}

func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "allcnn")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.allcnn")
	if err := format.WriteFile(path, tinyModel()); err != nil {
		log.Fatal(err)
	}
	f, err := format.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Arch.Name, f.Arch.Classes(), len(f.Tensors))
	// Output: tiny 2 4
}
