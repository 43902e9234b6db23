package render_test

import (
	"fmt"
	"image"

	"github.com/allcnn/allcnn/kernel/render"
)

// A 3×1×2 saliency map, as kernel.Net.Saliency returns for one example of a
// 1×2 image, drawn with a diverging colormap: zero is coolwarm's grey, the
// strongest value an end.
func ExampleMap() {
	sal := []float32{
		0, 0.5, // red channel
		0, 0.25, // green channel
		0, 0.25, // blue channel
	}
	img, err := render.Map(sal, 3, 1, 2, render.Options{
		Reduce:   render.Sum,
		Sign:     render.All,
		Colormap: render.Coolwarm,
	}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(img.Bounds(), img.RGBAAt(0, 0), img.RGBAAt(1, 0))
	// Output: (0,0)-(2,1) {221 221 221 255} {180 4 38 255}
}

// Guided-backprop figures in the paper are colour images on grey: keep the
// channels (RGB) and both signs.
func ExampleMap_rgb() {
	sal := []float32{2, -1, 0, 0, -2, 1}
	img, err := render.Map(sal, 3, 1, 2, render.Options{Colormap: render.RGB}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(img.RGBAAt(0, 0), img.RGBAAt(1, 0))
	// Output: {255 128 0 255} {64 128 191 255}
}

// Blend a heat map over the input image.
func ExampleMap_overlay() {
	input := image.NewRGBA(image.Rect(0, 0, 2, 1)) // black
	img, err := render.Map([]float32{0, 1}, 1, 1, 2, render.Options{
		Sign:     render.Positive,
		Colormap: render.Gray,
		Overlay:  0.5,
	}, input)
	if err != nil {
		panic(err)
	}
	fmt.Println(img.RGBAAt(0, 0), img.RGBAAt(1, 0))
	// Output: {0 0 0 255} {128 128 128 255}
}

func ExampleReduce() {
	sal := []float32{
		1, -3, // channel 0
		2, 1, // channel 1
		-4, 1, // channel 2
	}
	for _, r := range []render.Reduction{render.Sum, render.Max, render.MaxAbs} {
		m, err := render.Reduce(sal, 3, 1, 2, r)
		if err != nil {
			panic(err)
		}
		fmt.Println(m)
	}
	// Output:
	// [-1 -1]
	// [2 1]
	// [-4 -3]
}

// The percentile clip keeps one outlier from washing out the rest: the
// 80th percentile of these ten values is 7.2 (position 0.8·9 = 7.2 in
// sorted order), so 7.2 and above become 1.
func ExampleNormalize() {
	m := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 1000}
	plain, _ := render.Normalize(m, render.Positive, 0)
	clipped, _ := render.Normalize(m, render.Positive, 80)
	fmt.Printf("%.3f\n%.3f\n", plain, clipped)
	// Output:
	// [0.000 0.001 0.002 0.003 0.004 0.005 0.006 0.007 0.008 1.000]
	// [0.000 0.139 0.278 0.417 0.556 0.694 0.833 0.972 1.000 1.000]
}

// Colormap.At draws a colour bar.
func ExampleColormap_At() {
	for _, t := range []float64{0, 0.5, 1} {
		c, _ := render.Viridis.At(t)
		fmt.Printf("#%02x%02x%02x\n", c.R, c.G, c.B)
	}
	// Output:
	// #440154
	// #21908c
	// #fde725
}

// Rows are images, columns methods, with a header naming the columns.
func ExampleGrid() {
	sal := []float32{0, 1, 2, 3}
	var row []render.Cell
	for _, cm := range []render.Colormap{render.Gray, render.Inferno} {
		img, err := render.Map(sal, 1, 2, 2, render.Options{Sign: render.Positive, Colormap: cm}, nil)
		if err != nil {
			panic(err)
		}
		row = append(row, render.Cell{Image: img, Label: string(cm)})
	}
	grid, err := render.Grid([][]render.Cell{row}, 8, []string{"gray", "inferno"})
	if err != nil {
		panic(err)
	}
	fmt.Println(grid.Bounds())
	// Output: (0,0)-(89,56)
}

// Pixels draws the network's input (values in [0,255]) next to its maps.
func ExamplePixels() {
	img, err := render.Pixels([]float32{255, 0, 0, 128, 0, 255}, 3, 1, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(img.RGBAAt(0, 0), img.RGBAAt(1, 0))
	// Output: {255 0 0 255} {0 128 255 255}
}
