package onnx

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	pb "github.com/allcnn/allcnn/onnx/internal/onnxpb"
)

// attrs are a node's attributes, read by name. Each read marks the
// attribute as understood; done fails on any attribute no read asked for,
// so that an attribute that would change an operator's meaning is never
// silently dropped.
type attrs struct {
	m    map[string]*pb.AttributeProto
	used map[string]bool
}

func newAttrs(n *pb.NodeProto) (*attrs, error) {
	a := &attrs{m: map[string]*pb.AttributeProto{}, used: map[string]bool{}}
	for _, at := range n.GetAttribute() {
		if _, dup := a.m[at.GetName()]; dup {
			return nil, fmt.Errorf("%w: attribute %q twice", ErrMalformed, at.GetName())
		}
		if at.GetRefAttrName() != "" {
			return nil, fmt.Errorf("%w: attribute %q refers to a function's attribute", ErrUnsupported, at.GetName())
		}
		a.m[at.GetName()] = at
	}
	return a, nil
}

// get returns the attribute name if present, checking its type (which
// producers older than IR version 2 may leave unset).
func (a *attrs) get(name string, typ pb.AttributeProto_AttributeType) (*pb.AttributeProto, error) {
	at, ok := a.m[name]
	if !ok {
		return nil, nil
	}
	a.used[name] = true
	if t := at.GetType(); t != typ && t != pb.AttributeProto_UNDEFINED {
		return nil, fmt.Errorf("%w: attribute %q is %s, want %s", ErrMalformed, name, t, typ)
	}
	return at, nil
}

// int returns an INT attribute, or def where absent.
func (a *attrs) int(name string, def int64) (int64, error) {
	at, err := a.get(name, pb.AttributeProto_INT)
	if at == nil || err != nil {
		return def, err
	}
	return at.GetI(), nil
}

// float returns a FLOAT attribute, or def where absent.
func (a *attrs) float(name string, def float32) (float32, error) {
	at, err := a.get(name, pb.AttributeProto_FLOAT)
	if at == nil || err != nil {
		return def, err
	}
	return at.GetF(), nil
}

// ints returns an INTS attribute, nil where absent.
func (a *attrs) ints(name string) ([]int64, error) {
	at, err := a.get(name, pb.AttributeProto_INTS)
	if at == nil || err != nil {
		return nil, err
	}
	return at.GetInts(), nil
}

// str returns a STRING attribute, or def where absent.
func (a *attrs) str(name, def string) (string, error) {
	at, err := a.get(name, pb.AttributeProto_STRING)
	if at == nil || err != nil {
		return def, err
	}
	return string(at.GetS()), nil
}

// ignore marks attributes that do not change what an operator computes
// in inference (a Dropout's seed, a BatchNormalization's momentum).
func (a *attrs) ignore(names ...string) {
	for _, n := range names {
		a.used[n] = true
	}
}

// done fails if an attribute was never read.
func (a *attrs) done() error {
	var left []string
	for n := range a.m {
		if !a.used[n] {
			left = append(left, n)
		}
	}
	if len(left) == 0 {
		return nil
	}
	sort.Strings(left)
	return fmt.Errorf("%w: attribute %s", ErrUnsupported, strings.Join(left, ", "))
}

// allEqual reports whether every element of v is v[0].
func allEqual(v []int64) bool {
	return len(v) > 0 && !slices.ContainsFunc(v, func(x int64) bool { return x != v[0] })
}
