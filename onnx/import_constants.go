package onnx

import (
	"fmt"

	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// The constants of a graph: initializers, Constant nodes' values and
// Identity nodes' copies of them, decoded when a node first reads them.

// constant returns the value of a node's input i: an initializer or a
// Constant's output, decoded.
func (im *importer) constant(n *pb.NodeProto, i int) (*tensor, error) {
	name := n.GetInput()[i]
	if t, ok := im.consts[name]; ok {
		return t, nil
	}
	p, ok := im.inits[name]
	if !ok {
		return nil, fmt.Errorf("%w: input %d, %q, is not a constant (an initializer or a Constant's output)", ErrUnsupported, i, name)
	}
	t, err := decodeTensor(p)
	if err != nil {
		return nil, err
	}
	im.consts[name] = t
	return t, nil
}

// input returns the constant input i of n, or nil if the node has no
// such input or leaves it empty (an optional input).
func (im *importer) input(n *pb.NodeProto, i int) (*tensor, error) {
	if i >= len(n.GetInput()) || n.GetInput()[i] == "" {
		return nil, nil
	}
	return im.constant(n, i)
}

// constantNode records the value of a Constant node.
func (im *importer) constantNode(n *pb.NodeProto, a *attrs) error {
	if len(n.GetOutput()) != 1 || len(n.GetInput()) != 0 {
		return fmt.Errorf("%w: a Constant has no inputs and one output", ErrMalformed)
	}
	out := n.GetOutput()[0]
	if _, dup := im.consts[out]; dup || im.inits[out] != nil {
		return fmt.Errorf("%w: value %q defined twice", ErrMalformed, out)
	}
	var t *tensor
	if at, err := a.get("value", pb.AttributeProto_TENSOR); err != nil {
		return err
	} else if at != nil {
		if t, err = decodeTensor(at.GetT()); err != nil {
			return err
		}
	}
	if v, err := a.get("value_float", pb.AttributeProto_FLOAT); err != nil {
		return err
	} else if v != nil {
		t = &tensor{floats: []float32{v.GetF()}}
	}
	if v, err := a.get("value_floats", pb.AttributeProto_FLOATS); err != nil {
		return err
	} else if v != nil {
		t = &tensor{shape: []int{len(v.GetFloats())}, floats: v.GetFloats()}
	}
	if v, err := a.get("value_int", pb.AttributeProto_INT); err != nil {
		return err
	} else if v != nil {
		t = &tensor{ints: []int64{v.GetI()}}
	}
	if v, err := a.get("value_ints", pb.AttributeProto_INTS); err != nil {
		return err
	} else if v != nil {
		t = &tensor{shape: []int{len(v.GetInts())}, ints: v.GetInts()}
	}
	if err := a.done(); err != nil {
		return err
	}
	if t == nil || len(n.GetAttribute()) != 1 {
		return fmt.Errorf("%w: a Constant needs exactly one of value, value_float(s), value_int(s)", ErrUnsupported)
	}
	t.name = out
	im.consts[out] = t
	return nil
}

// alias records the output of an Identity of a constant as the same
// constant (torch.onnx writes them for shared initializers).
func (im *importer) alias(n *pb.NodeProto, a *attrs) error {
	if err := a.done(); err != nil {
		return err
	}
	t, err := im.constant(n, 0)
	if err != nil {
		return err
	}
	if len(n.GetOutput()) != 1 {
		return fmt.Errorf("%w: %d outputs", ErrMalformed, len(n.GetOutput()))
	}
	out := n.GetOutput()[0]
	if _, dup := im.consts[out]; dup || im.inits[out] != nil {
		return fmt.Errorf("%w: value %q defined twice", ErrMalformed, out)
	}
	im.consts[out] = t
	return nil
}
