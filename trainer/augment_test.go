package trainer

import (
	"math"
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

// filled is n copies of v.
func filled(v float32, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestCanvasPlace(t *testing.T) {
	// Two channels of 2×3; channel 1 is channel 0 plus 10.
	img := []float32{1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16}
	centred := []float32{ // on 4×5: top-left corner at ((4−2)/2, (5−3)/2) = (1, 1)
		0, 0, 0, 0, 0,
		0, 1, 2, 3, 0,
		0, 4, 5, 6, 0,
		0, 0, 0, 0, 0,

		0, 0, 0, 0, 0,
		0, 11, 12, 13, 0,
		0, 14, 15, 16, 0,
		0, 0, 0, 0, 0,
	}
	flipped := []float32{
		0, 0, 0, 0, 0,
		0, 3, 2, 1, 0,
		0, 6, 5, 4, 0,
		0, 0, 0, 0, 0,

		0, 0, 0, 0, 0,
		0, 13, 12, 11, 0,
		0, 16, 15, 14, 0,
		0, 0, 0, 0, 0,
	}
	moved := []float32{ // one right, two up: the top row leaves the canvas
		0, 0, 4, 5, 6,
		0, 0, 0, 0, 0,
		0, 0, 0, 0, 0,
		0, 0, 0, 0, 0,

		0, 0, 14, 15, 16,
		0, 0, 0, 0, 0,
		0, 0, 0, 0, 0,
		0, 0, 0, 0, 0,
	}
	jittered := slices.Clone(centred)
	for i := range jittered {
		jittered[i] *= []float32{2, 0.5}[i/20]
	}
	for _, c := range []struct {
		name string
		p    Placement
		want []float32
	}{
		{"identity", Placement{}, centred},
		{"scale 1, angle 0", Placement{Scale: 1}, centred},
		{"full turn", Placement{Angle: 2 * math.Pi}, centred},
		{"flip", Placement{Flip: true}, flipped},
		{"flip and a half turn", Placement{Flip: true, Angle: math.Pi}, []float32{
			0, 0, 0, 0, 0,
			0, 4, 5, 6, 0, // a half turn of the mirror is a vertical flip
			0, 1, 2, 3, 0,
			0, 0, 0, 0, 0,

			0, 0, 0, 0, 0,
			0, 14, 15, 16, 0,
			0, 11, 12, 13, 0,
			0, 0, 0, 0, 0,
		}},
		{"moved", Placement{DX: 1, DY: -2}, moved},
		{"colour", Placement{Gain: []float32{2, 0.5}}, jittered},
	} {
		out := filled(-1, len(centred)) // every value must be written
		Place(img, out, 2, 2, 3, 4, 5, c.p)
		if !slices.Equal(out, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, out, c.want)
		}
	}
	out := filled(-1, len(centred))
	CenterCanvas(img, out, 2, 2, 3, 4, 5)
	if !slices.Equal(out, centred) {
		t.Errorf("CenterCanvas: %v", out)
	}
}

func TestCanvasRotation(t *testing.T) {
	img := []float32{ // 3×3, no symmetry
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	for _, c := range []struct {
		name  string
		angle float64
		want  []float32 // the central 3×3 of a 5×5 canvas
	}{
		// Counter-clockwise as displayed: the right column becomes the top row.
		{"90°", math.Pi / 2, []float32{3, 6, 9, 2, 5, 8, 1, 4, 7}},
		{"−90°", -math.Pi / 2, []float32{7, 4, 1, 8, 5, 2, 9, 6, 3}},
		{"180°", math.Pi, []float32{9, 8, 7, 6, 5, 4, 3, 2, 1}},
	} {
		out := filled(-1, 25)
		Place(img, out, 1, 3, 3, 5, 5, Placement{Angle: c.angle})
		want := make([]float32, 25)
		for y := range 3 {
			copy(want[(y+1)*5+1:], c.want[y*3:(y+1)*3])
		}
		if !slices.Equal(out, want) {
			t.Errorf("%s: got %v, want %v", c.name, out, want)
		}
	}
	// Bilinear between pixel centres, 0 beyond the image: a row [2 4] on a
	// 1×4 canvas moved half a pixel right samples at −1.5, −0.5, 0.5, 1.5.
	out := filled(-1, 4)
	Place([]float32{2, 4}, out, 1, 1, 2, 1, 4, Placement{DX: 0.5})
	if want := []float32{0, 1, 3, 2}; !slices.Equal(out, want) {
		t.Errorf("half-pixel move: %v, want %v", out, want)
	}
	// Scale 2 about the centre of [2 4] (0.5, at 2.5 on a 1×6 canvas):
	// canvas x samples 0.5 + (x − 2.5)/2 = −0.75, −0.25, 0.25, …, 1.75.
	out = filled(-1, 6)
	Place([]float32{2, 4}, out, 1, 1, 2, 1, 6, Placement{Scale: 2})
	if want := []float32{0.5, 1.5, 2.5, 3.5, 3, 1}; !slices.Equal(out, want) {
		t.Errorf("scale 2: %v, want %v", out, want)
	}
}

func TestCanvasDraws(t *testing.T) {
	const c, h, w, H, W = 3, 6, 4, 12, 10
	cv := DefaultCanvas
	r := rand.New(rand.NewPCG(3, 4))
	var flips int
	lo, hi := [2]float32{2, 2}, [2]float32{}
	for range 2000 {
		p := cv.Draw(r, c, h, w, H, W)
		if p.Flip {
			flips++
		}
		if p.Scale < 0.8 || p.Scale > 1.2 || math.Abs(p.Angle) > 15*math.Pi/180 {
			t.Fatalf("scale %v, angle %v°", p.Scale, p.Angle*180/math.Pi)
		}
		// The bounding box of the scaled, turned image stays on the canvas.
		cos, sin := math.Abs(math.Cos(p.Angle)), math.Abs(math.Sin(p.Angle))
		bw, bh := p.Scale*(cos*w+sin*h), p.Scale*(sin*w+cos*h)
		if math.Abs(p.DX) > (W-bw)/2+1e-12 || math.Abs(p.DY) > (H-bh)/2+1e-12 {
			t.Fatalf("move (%v, %v) leaves the canvas for a %v×%v box", p.DX, p.DY, bw, bh)
		}
		if len(p.Gain) != c {
			t.Fatalf("%d colour factors", len(p.Gain))
		}
		for _, g := range p.Gain {
			if g < 0.8 || g > 1.2 {
				t.Fatalf("colour factor %v outside [0.8, 1.2]", g)
			}
			lo[0], hi[0] = min(lo[0], g), max(hi[0], g)
		}
		lo[1], hi[1] = min(lo[1], float32(p.Scale)), max(hi[1], float32(p.Scale))
	}
	if flips < 800 || flips > 1200 || lo[0] > 0.82 || hi[0] < 1.18 || lo[1] > 0.82 || hi[1] < 1.18 {
		t.Errorf("%d flips in 2000, colour factors %v–%v, scales %v–%v", flips, lo[0], hi[0], lo[1], hi[1])
	}
	// Nothing enabled: the identity, and no draws.
	src := rand.NewPCG(5, 6)
	before, _ := src.MarshalBinary()
	if p := (Canvas{MinScale: 1, MaxScale: 1}).Draw(rand.New(src), c, h, w, H, W); p.Flip || p.Scale != 1 || p.Angle != 0 || p.DX != 0 || p.DY != 0 || p.Gain != nil {
		t.Errorf("disabled canvas drew %+v", p)
	}
	if after, _ := src.MarshalBinary(); !slices.Equal(before, after) {
		t.Error("a disabled canvas drew random numbers")
	}
}

func TestCanvasDeterministic(t *testing.T) {
	d := correlatedDataset(6, 3, 5, 5, 1)
	run := func(seq uint64) []float32 {
		r := rand.New(rand.NewPCG(42, seq))
		out := make([]float32, 6*3*9*9)
		for i := range 6 {
			DefaultCanvas.Apply(r, d.Image(i), out[i*243:(i+1)*243], 3, 5, 5, 9, 9)
		}
		return out
	}
	a, b := run(43), run(43)
	if !slices.Equal(a, b) {
		t.Error("one seed, two canvases")
	}
	if slices.Equal(a, run(44)) {
		t.Error("another seed gave the same canvases")
	}
}

// TestCutout: the blanked square is where the draws put it, clipped at the
// borders, in every channel, and nothing else changes; over many draws every
// pixel is blanked sometimes and a centre pixel more often than a corner.
func TestCutout(t *testing.T) {
	const c, h, w = 2, 5, 6
	fill := func() []float32 {
		img := make([]float32, c*h*w)
		for i := range img {
			img[i] = float32(i + 1)
		}
		return img
	}
	for _, size := range []int{1, 2, 3, 4, 8} {
		r := rand.New(rand.NewPCG(7, uint64(size)))
		twin := rand.New(rand.NewPCG(7, uint64(size)))
		for trial := 0; trial < 50; trial++ {
			img := fill()
			Cutout(r, img, c, h, w, size)
			cy, cx := twin.IntN(h), twin.IntN(w)
			lo := func(v int) int { return v - (size-1)/2 }
			for ch := 0; ch < c; ch++ {
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						i := (ch*h+y)*w + x
						in := y >= lo(cy) && y < lo(cy)+size && x >= lo(cx) && x < lo(cx)+size
						if want := float32(i + 1); in {
							want = 0
							if img[i] != want {
								t.Fatalf("size %d, centre (%d,%d): pixel (%d,%d,%d) = %v, want 0", size, cy, cx, ch, y, x, img[i])
							}
						} else if img[i] != want {
							t.Fatalf("size %d, centre (%d,%d): pixel (%d,%d,%d) = %v, want %v (untouched)", size, cy, cx, ch, y, x, img[i], want)
						}
					}
				}
			}
		}
	}
	// Frequencies with size 3 over a 5×6 image.
	r := rand.New(rand.NewPCG(1, 1))
	count := make([]int, h*w)
	for trial := 0; trial < 20000; trial++ {
		img := fill()
		Cutout(r, img, 1, h, w, 3)
		for i, v := range img[:h*w] {
			if v == 0 {
				count[i]++
			}
		}
	}
	if corner, centre := count[0], count[2*w+2]; corner == 0 || centre < 2*corner {
		t.Errorf("blanked in 20000 draws: corner %d, centre %d; want centre ≥ 2× corner > 0 (4/30 against 9/30)", corner, centre)
	}
}
