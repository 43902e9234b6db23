package trainer

// Evaluation: loss and accuracy of a net on preprocessed images, placed
// on its input as validation places them.

import (
	"fmt"
	"math"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Evaluate returns the mean loss and top-1 accuracy of the net (in
// evaluation mode) on preprocessed images x with labels, stored at the
// data's size as the run holds them: each is mapped to the network input as
// in validation (see Config), the centre crop or the centred canvas.
func (r *Run) Evaluate(x []float32, labels []int) (loss, acc float64) {
	if r.mode == sameSize {
		return Evaluate(r.Net, x, labels, 256)
	}
	return EvaluateSized(r.Net, x, labels, 256, r.train.H, r.train.W)
}

// Evaluate returns the mean cross-entropy and top-1 accuracy of net in
// evaluation mode on the preprocessed inputs x, batch images at a time.
func Evaluate(net *kernel.Net, x []float32, labels []int, batch int) (loss, acc float64) {
	in := net.Spec.Input
	dim := in[0] * in[1] * in[2]
	return evaluate(net, labels, batch, func(start, end int) *kernel.Tensor {
		return &kernel.Tensor{Shape: []int{end - start, in[0], in[1], in[2]}, Data: x[start*dim : end*dim]}
	})
}

// EvaluateSized is Evaluate on preprocessed images x of h×w (net's input
// channels), each mapped to net's input a batch at a time: the central
// window when they are at least as large (CenterCrop), the centre of a zero
// canvas when they are at most as large (CenterCanvas). It panics on an
// image larger in one dimension and smaller in the other.
func EvaluateSized(net *kernel.Net, x []float32, labels []int, batch, h, w int) (loss, acc float64) {
	in := net.Spec.Input
	c, dim := in[0], in[0]*h*w
	if (h > in[1] || w > in[2]) && (h < in[1] || w < in[2]) {
		panic(fmt.Sprintf("trainer: EvaluateSized: %d×%d images for a %d×%d input", h, w, in[1], in[2]))
	}
	var buf *kernel.Tensor
	return evaluate(net, labels, batch, func(start, end int) *kernel.Tensor {
		if buf == nil {
			buf = kernel.NewTensor(end-start, in[0], in[1], in[2])
		}
		t := &kernel.Tensor{Shape: []int{end - start, in[0], in[1], in[2]}, Data: buf.Data[:(end-start)*in[0]*in[1]*in[2]]}
		for j := range end - start {
			// The placement every consumer of the model file uses.
			preprocess.Place(x[(start+j)*dim:(start+j+1)*dim], t.Example(j), c, h, w, in[1], in[2])
		}
		return t
	})
}

func evaluate(net *kernel.Net, labels []int, batch int, input func(start, end int) *kernel.Tensor) (loss, acc float64) {
	var sum float64
	correct := 0
	for start := 0; start < len(labels); start += batch {
		end := min(start+batch, len(labels))
		t := input(start, end)
		y, err := net.Forward(t, false)
		if err != nil {
			return math.NaN(), 0
		}
		l, c := kernel.SoftmaxCrossEntropy(y.Data, net.Classes(), labels[start:end], nil)
		sum += l * float64(end-start)
		correct += c
	}
	return sum / float64(len(labels)), float64(correct) / float64(len(labels))
}
