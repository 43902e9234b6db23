// Package render draws saliency maps — the gradient, deconvnet and guided
// backpropagation signals of NOTES.md §6 — as images, with the rendering
// conventions users know from captum, utkuozbulak and tf-keras-vis: collapse
// the colour channels, keep one sign, clip outliers at a percentile, normalise
// per image, colour, overlay on the input, and lay many maps out in a
// labelled grid.
//
// A saliency map is the float32 C×H×W data of one example of a kernel.Tensor
// (typically C = 3). Map runs the whole pipeline:
//
//	Reduce     C×H×W → H×W            (skipped by the RGB colormap)
//	Normalize  sign, clip, scale      → t in [0,1]
//	Colorize   t → colormap           (RGB: t·255 per channel, see Pixels)
//	overlay    (1−a)·input + a·map    (only when Options.Overlay > 0)
//
// Each step is exported so a caller can stop half way, for example to draw a
// colour bar with Colormap.At.
//
// The package is pure Go with no cgo, no syscall/js and no file system use,
// so the browser module can draw into a canvas from GOOS=js or GOOS=wasip1:
// an *image.RGBA's Pix is the RGBA byte order a canvas ImageData wants.
// Grid labels use the 7×13 bitmap font of golang.org/x/image/font/basicfont.
package render
