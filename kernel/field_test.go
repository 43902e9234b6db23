package kernel

import "testing"

func TestReceptiveField(t *testing.T) {
	s, _ := ZooSpec("all-cnn-c", 10, 0.05)
	n, err := Build(*s)
	requireNoError(t, err)
	at := func(name string) int { i, err := n.Unit(name); requireNoError(t, err); return i }
	for _, c := range []struct {
		layer          string
		y, x           int
		y0, y1, x0, x1 int
	}{
		{"conv1", 0, 0, 0, 2, 0, 2},   // 3×3 same: rows −1..1, clipped
		{"conv1", 5, 7, 4, 7, 6, 9},   // interior: 3×3
		{"conv2", 5, 7, 3, 8, 5, 10},  // two 3×3: 5×5
		{"conv3", 4, 4, 5, 12, 5, 12}, // stride 2: 2·4−1 = 7 … 7 px wide
		{"conv7", 0, 0, 0, 18, 0, 18}, // valid 3×3 on 8×8: rows −9..17, clipped
		{"gap", 0, 0, 0, 32, 0, 32},   // the pool sees all of it
	} {
		y0, y1, x0, x1 := n.ReceptiveField(at(c.layer), c.y, c.x)
		if [4]int{y0, y1, x0, x1} != [4]int{c.y0, c.y1, c.x0, c.x1} {
			t.Errorf("%s (%d,%d): [%d,%d)×[%d,%d), want [%d,%d)×[%d,%d)", c.layer, c.y, c.x, y0, y1, x0, x1, c.y0, c.y1, c.x0, c.x1)
		}
	}
	// The guided reconstruction of a unit is zero outside its field.
	requireNoError(t, n.Init("he", 2))
	x := randTensor(newRNG(3), 1, 1, 3, 32, 32)
	i := at("conv4")
	m, _, err := n.Saliency(x, []Target{{Layer: "conv4", Channel: 0, At: &[2]int{3, 5}}}, Rule{ReLU: Guided})
	requireNoError(t, err)
	y0, y1, x0, x1 := n.ReceptiveField(i, 3, 5)
	for ch := 0; ch < 3; ch++ {
		for y := 0; y < 32; y++ {
			for xx := 0; xx < 32; xx++ {
				inside := y >= y0 && y < y1 && xx >= x0 && xx < x1
				if v := m.Data[(ch*32+y)*32+xx]; !inside && v != 0 {
					t.Fatalf("signal %v at (%d,%d) outside the field [%d,%d)×[%d,%d)", v, y, xx, y0, y1, x0, x1)
				}
			}
		}
	}
}
