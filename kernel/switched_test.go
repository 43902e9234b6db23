package kernel

import "testing"

func TestSwitchedSpec(t *testing.T) {
	for _, name := range []string{"all-cnn-c", "all-cnn-a", "strided-cnn-b", "imagenet-all-cnn", "large-all-cnn"} {
		s, err := ZooSpec(name, 0, 0.05)
		requireNoError(t, err)
		sw, err := SwitchedSpec(*s)
		requireNoError(t, err)
		a, _ := s.Shapes()
		b, _ := sw.Shapes()
		requireEqual(t, a[len(a)-1], b[len(b)-1], name+" output")
		strided, pools := 0, 0
		for _, l := range s.Layers {
			if l.Type == TypeConv && l.Stride == 2 {
				strided++
			}
		}
		for _, l := range sw.Layers {
			if l.Type == TypeConv && l.Stride == 2 {
				t.Errorf("%s: %s still strided", name, l.Name)
			}
			if l.Type == TypeMaxPool {
				pools++
			}
		}
		requireEqual(t, strided, pools, name+" pools")
		pa, _ := s.ParamShapes()
		pb, _ := sw.ParamShapes()
		requireEqual(t, len(pa), len(pb), name+" params")
		// Every stride-2 output size is preserved, so the layers after a
		// replaced conv see the shapes they were trained on.
		swNet := &Net{Spec: sw}
		for i, l := range s.Layers {
			if l.Type == TypeConv && l.Stride == 2 {
				pool, ok := swNet.Index(l.Name + ".pool")
				requireEqual(t, true, ok, name+" "+l.Name+".pool exists")
				requireEqual(t, a[i], b[pool], name+" "+l.Name+" size")
			}
		}
	}
}

func TestWithSwitchesCopiesWeights(t *testing.T) {
	s, _ := ZooSpec("all-cnn-c", 10, 1.0/24)
	n, err := Build(*s)
	requireNoError(t, err)
	requireNoError(t, n.Init("he", 3))
	m, err := n.WithSwitches()
	requireNoError(t, err)
	for _, p := range n.Params() {
		requireEqual(t, 0.0, maxDiff(p.Data, m.Param(p.Name).Data), p.Name)
	}
	// The switched net has switches: the pool rules now differ.
	x := randTensor(newRNG(1), 1, 1, 3, 32, 32)
	a, _, err := m.Saliency(x, []Target{{Channel: 0}}, Rule{ReLU: Guided, Pool: Switches})
	requireNoError(t, err)
	b, _, err := m.Saliency(x, []Target{{Channel: 0}}, Rule{ReLU: Guided, Pool: NoSwitches})
	requireNoError(t, err)
	if maxDiff(a.Data, b.Data) == 0 {
		t.Fatal("switches and no switches agree on the switched net")
	}
}
