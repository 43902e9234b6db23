package trainer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTransform(t *testing.T) {
	// Two channels of 3×4; channel 1 is channel 0 plus 100.
	img := []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,

		101, 102, 103, 104,
		105, 106, 107, 108,
		109, 110, 111, 112,
	}
	for _, c := range []struct {
		name   string
		flip   bool
		dx, dy int
		want   []float32 // channel 0; channel 1 is it plus 100 where non-zero
	}{
		{"identity", false, 0, 0, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"flip", true, 0, 0, []float32{4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9}},
		{"right 1", false, 1, 0, []float32{0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11}},
		{"left 2", false, -2, 0, []float32{3, 4, 0, 0, 7, 8, 0, 0, 11, 12, 0, 0}},
		{"down 1", false, 0, 1, []float32{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"up 2", false, 0, -2, []float32{9, 10, 11, 12, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"flip, then right 1, up 1", true, 1, -1, []float32{0, 8, 7, 6, 0, 12, 11, 10, 0, 0, 0, 0}},
		{"flip, then left 1", true, -1, 0, []float32{3, 2, 1, 0, 7, 6, 5, 0, 11, 10, 9, 0}},
		{"out of the frame", false, 4, 0, make([]float32, 12)},
		{"far out", true, -9, 7, make([]float32, 12)},
	} {
		out := make([]float32, len(img))
		for i := range out {
			out[i] = -1 // every value must be written
		}
		Transform(img, out, 2, 3, 4, c.flip, c.dx, c.dy)
		want := slices.Clone(c.want)
		for _, v := range c.want {
			if v != 0 {
				v += 100
			}
			want = append(want, v)
		}
		if !slices.Equal(out, want) {
			t.Errorf("%s: got %v, want %v", c.name, out, want)
		}
	}
}

func TestAugmentDraws(t *testing.T) {
	const n = 4000
	img := make([]float32, 1*1*11)
	for i := range img {
		img[i] = float32(i + 1)
	}
	out := make([]float32, len(img))
	r := rand.New(rand.NewPCG(1, 2))
	a := Augment{Flip: true, MaxShift: 5}
	flips := 0
	shifts := map[int]int{}
	for range n {
		a.Apply(r, img, out, 1, 1, 11)
		// One row of 11: dy ≠ 0 moves it out of the frame. Otherwise recover
		// flip and dx from the first value in the frame.
		if slices.Max(out) == 0 {
			continue
		}
		i := slices.IndexFunc(out, func(v float32) bool { return v != 0 })
		v := int(out[i])
		flip := out[i+1] < out[i]
		dx := i - (v - 1) // value v sits at x = v−1+dx, or at 11−v+dx when flipped
		if flip {
			flips++
			dx = i - 11 + v
		}
		shifts[dx]++
		want := make([]float32, 11)
		Transform(img, want, 1, 1, 11, flip, dx, 0)
		if !slices.Equal(out, want) {
			t.Fatalf("output %v is no flip and shift of the row", out)
		}
	}
	// dy = 0 with probability 1/11; then both flips and all 11 shifts occur.
	kept := 0
	for dx, k := range shifts {
		if dx < -5 || dx > 5 {
			t.Errorf("shift %d beyond 5", dx)
		}
		kept += k
	}
	if len(shifts) != 11 || flips < kept/3 || flips > 2*kept/3 || kept < n/11/2 {
		t.Errorf("%d kept rows, %d flipped, shifts %v", kept, flips, shifts)
	}
	// With nothing on, Apply copies and draws nothing.
	before, _ := rand.NewPCG(5, 6).MarshalBinary()
	src := rand.NewPCG(5, 6)
	Augment{}.Apply(rand.New(src), img, out, 1, 1, 11)
	after, _ := src.MarshalBinary()
	if !slices.Equal(out, img) || !slices.Equal(before, after) {
		t.Errorf("no-op augmentation: %v, state changed %v", out, !slices.Equal(before, after))
	}
}

func TestAugmentDeterministic(t *testing.T) {
	d := correlatedDataset(8, 3, 6, 6, 1)
	a := Augment{Flip: true, MaxShift: 2}
	run := func(r *rand.Rand, from, to int) []float32 {
		out := make([]float32, (to-from)*3*36)
		a.ApplyBatch(r, d.Images[from*108:to*108], out, 3, 6, 6)
		return out
	}
	src := rand.NewPCG(42, 43)
	whole := run(rand.New(src), 0, 8)
	if slices.Equal(whole, run(rand.New(rand.NewPCG(42, 44)), 0, 8)) {
		t.Error("another seed gave the same augmentation")
	}
	// Checkpoint the generator after 3 images and resume from the copy.
	src = rand.NewPCG(42, 43)
	first := run(rand.New(src), 0, 3)
	state, err := src.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	resumed := new(rand.PCG)
	if err := resumed.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	rest := run(rand.New(resumed), 3, 8)
	if !slices.Equal(whole, append(first, rest...)) {
		t.Error("resuming from a saved PCG state changed the augmentation")
	}
}

func TestCrop(t *testing.T) {
	// 2×3×4 image, value = 100·channel + 10·row + column.
	img := make([]float32, 24)
	for i := range img {
		img[i] = float32(100*(i/12) + 10*(i%12/4) + i%4)
	}
	out := make([]float32, 8)
	CenterCrop(img, out, 2, 3, 4, 2)
	if want := []float32{1, 2, 11, 12, 101, 102, 111, 112}; !slices.Equal(out, want) {
		t.Errorf("CenterCrop: %v, want %v", out, want)
	}
	seen := map[[2]int]bool{}
	r := rand.New(rand.NewPCG(9, 9))
	for range 200 {
		RandomCrop(r, img, out, 2, 3, 4, 2)
		y0, x0 := int(out[0])/10, int(out[0])%10
		for ch := 0; ch < 2; ch++ {
			for y := 0; y < 2; y++ {
				for x := 0; x < 2; x++ {
					if want := float32(100*ch + 10*(y0+y) + x0 + x); out[ch*4+y*2+x] != want {
						t.Fatalf("RandomCrop at (%d, %d): %v", y0, x0, out)
					}
				}
			}
		}
		seen[[2]int{y0, x0}] = true
	}
	if len(seen) != 6 { // 2 rows × 3 columns of positions
		t.Errorf("RandomCrop used %d positions, want all 6", len(seen))
	}
}
