package allcnn

// Batches, for the commands: images already decoded to pixel values (an
// image file read at Source, or a data set's images) brought to the input
// together, and class probabilities for a whole batch, with optional
// test-time augmentation.

import (
	"fmt"

	"github.com/allcnn/allcnn/kernel"
)

// Source is the shape images are read at before they become the input:
// the input's channels and the file's source size
// (preprocess.Params.SourceSize: the input's own height and width, or Size
// for the placements canvas and crop). Inputs takes images of this shape
// without resampling them.
func (m *Model) Source() [3]int {
	in := m.net.Spec.Input
	h, w := m.file.Preprocess.SourceSize(in)
	return [3]int{in[0], h, w}
}

// Inputs brings images of c×h×w pixel values in [0, 255], channel-major (as
// dataset.Dataset.Image returns them), to the network's input: one batch,
// an example per image, by the model file's input contract
// (preprocess.Params.InputFromPixels, the path the trainer's validation
// takes). An image of the Source shape is normalised and placed; any other
// is resampled first, as Input resamples an RGBA image.
func (m *Model) Inputs(images [][]float32, c, h, w int) (*kernel.Tensor, error) {
	return m.batch(images, c, h, w, m.file.Preprocess.InputFromPixels)
}

// Pixels is Inputs before normalisation: the images as the network's input
// shows them (preprocess.Params.PixelsFromPixels), in [0, 255], which maps
// are drawn over.
func (m *Model) Pixels(images [][]float32, c, h, w int) (*kernel.Tensor, error) {
	return m.batch(images, c, h, w, m.file.Preprocess.PixelsFromPixels)
}

// batch writes each image through to into an example of a new batch.
func (m *Model) batch(images [][]float32, c, h, w int, to func(img []float32, c, h, w int, in [3]int, out []float32) error) (*kernel.Tensor, error) {
	in := m.net.Spec.Input
	x := kernel.NewTensor(len(images), in[0], in[1], in[2])
	for k, img := range images {
		if err := to(img, c, h, w, in, x.Example(k)); err != nil {
			return nil, fmt.Errorf("allcnn: image %d: %w", k, err)
		}
	}
	return x, nil
}

// Probs runs a batch of prepared inputs (N×C×H×W, as Inputs returns) through
// the network in evaluation mode and returns the class probabilities, the
// softmax of the outputs: Classes() values per example. With flip, each
// example's probabilities are the mean of its own and its mirror image's
// (test-time augmentation): the input mirrored left to right is the image
// mirrored, normalised and placed (to a pixel, where a canvas or crop
// margin is odd).
func (m *Model) Probs(x *kernel.Tensor, flip bool) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.probs(x)
	if err != nil || !flip {
		return p, err
	}
	q, err := m.probs(mirror(x))
	if err != nil {
		return nil, err
	}
	for i := range p {
		p[i] = (p[i] + q[i]) / 2
	}
	return p, nil
}

// probs is the softmax of the net's outputs for x. The caller holds m.mu.
func (m *Model) probs(x *kernel.Tensor) ([]float32, error) {
	out, err := m.net.Forward(x, false)
	if err != nil {
		return nil, err
	}
	p := make([]float32, len(out.Data))
	kernel.Softmax(out.Data, m.net.Classes(), p)
	return p, nil
}

// mirror is x, a batch of N×C×H×W, with every row reversed.
func mirror(x *kernel.Tensor) *kernel.Tensor {
	w := x.Shape[len(x.Shape)-1]
	out := kernel.NewTensor(x.Shape...)
	for r := 0; r < len(x.Data)/w; r++ {
		row, to := x.Data[r*w:(r+1)*w], out.Data[r*w:(r+1)*w]
		for i, v := range row {
			to[w-1-i] = v
		}
	}
	return out
}
