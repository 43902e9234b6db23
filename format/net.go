package format

import (
	"fmt"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Net builds the file's network with the kernel's default options and loads
// its weights. The file should be valid (Unmarshal and ReadFile return only
// valid files).
func (f *File) Net() (*kernel.Net, error) { return f.NetWith(kernel.Options{}) }

// NetWith is Net, the net computing as o says.
func (f *File) NetWith(o kernel.Options) (*kernel.Net, error) {
	n, err := o.Build(f.Arch)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	for _, p := range n.Tensors() {
		t, ok := f.Tensor(p.Name)
		if !ok {
			return nil, fmt.Errorf("format: tensor %q: %w", p.Name, ErrMissing)
		}
		if len(t.Data) != len(p.Data) {
			return nil, fmt.Errorf("format: tensor %q: %d values for %v: %w", p.Name, len(t.Data), p.Shape, ErrShape)
		}
		copy(p.Data, t.Data)
	}
	return n, nil
}

// FromNet makes a file of a net's current weights, stored as dtype.
func FromNet(n *kernel.Net, classes []string, p preprocess.Params, dtype DType, meta map[string]string) *File {
	f := &File{Arch: n.Spec, Classes: classes, Preprocess: p, Meta: meta}
	if p.Kind == preprocess.GCNZCA {
		f.ZCADType = dtype
	}
	for _, q := range n.Tensors() {
		f.Tensors = append(f.Tensors, Tensor{Name: q.Name, Shape: append([]int(nil), q.Shape...), DType: dtype, Data: append([]float32(nil), q.Data...)})
	}
	return f
}
