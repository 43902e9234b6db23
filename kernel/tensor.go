package kernel

import (
	"fmt"

	"github.com/allcnn/allcnn/kernel/internal/engine"
)

// Tensor is a dense float32 array in NCHW order. A 4-D tensor holds N
// examples of C channels of H×W pixels.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor allocates a zeroed tensor.
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// N, C, H, W read the dimensions of a 4-D tensor.
func (t *Tensor) N() int { return t.Shape[0] }
func (t *Tensor) C() int { return t.Shape[1] }
func (t *Tensor) H() int { return t.Shape[2] }
func (t *Tensor) W() int { return t.Shape[3] }

// Example returns the data of example n of a batch.
func (t *Tensor) Example(n int) []float32 {
	k := len(t.Data) / t.Shape[0]
	return t.Data[n*k : (n+1)*k]
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// reuse returns buf if it already has the shape, else a zeroed tensor of
// that shape, in buf's memory where it is large enough. Layers keep their
// outputs between calls, so a training step with a fixed batch size does not
// allocate, and neither does going back and forth between batch sizes (such
// as training batches and single-image saliency), which used to double the
// process's memory with discarded buffers.
func reuse(buf *Tensor, shape ...int) *Tensor {
	if buf != nil && sameShape(buf.Shape, shape) {
		return buf
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if buf == nil || cap(buf.Data) < n {
		return NewTensor(shape...)
	}
	// A new header: a caller holding the old one keeps its shape.
	t := &Tensor{Shape: append([]int(nil), shape...), Data: buf.Data[:n]}
	zero(t.Data)
	return t
}

func zero(s []float32) {
	for i := range s {
		s[i] = 0
	}
}

func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// maps is t as the engine's view of a batch of feature maps.
func maps(t *Tensor) engine.Maps {
	return engine.Maps{Data: t.Data, N: t.N(), C: t.C(), H: t.H(), W: t.W()}
}
