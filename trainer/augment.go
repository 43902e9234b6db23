package trainer

import "math/rand/v2"

// Augment is the paper's CIFAR augmentation (PAPER.md §5): horizontal flips
// and random translations. It works on preprocessed images, the network's
// input, so the border that a translation shifts in is 0 there: the mean
// image under channel normalization and under ZCA, black under "none".
//
// Draws come from the *rand.Rand passed in, in a fixed order per image
// (flip, then dx, then dy), so a run is reproducible from its seed; build it
// on rand.NewPCG, whose state a checkpoint can save (*rand.PCG implements
// encoding.BinaryMarshaler) and restore.
type Augment struct {
	Flip     bool // mirror left–right with probability 1/2
	MaxShift int  // shift by dx, dy drawn uniformly from [−MaxShift, MaxShift]
}

// Apply writes an augmented copy of img (c×h×w) to out (same length, not
// overlapping img).
func (a Augment) Apply(r *rand.Rand, img, out []float32, c, h, w int) {
	flip := a.Flip && r.IntN(2) == 1
	var dx, dy int
	if a.MaxShift > 0 {
		dx = r.IntN(2*a.MaxShift+1) - a.MaxShift
		dy = r.IntN(2*a.MaxShift+1) - a.MaxShift
	}
	Transform(img, out, c, h, w, flip, dx, dy)
}

// ApplyBatch augments each c×h×w image of in into out, image by image.
func (a Augment) ApplyBatch(r *rand.Rand, in, out []float32, c, h, w int) {
	n := c * h * w
	for k := 0; k+n <= len(in); k += n {
		a.Apply(r, in[k:k+n], out[k:k+n], c, h, w)
	}
}

// Transform writes img (c×h×w), mirrored left–right if flip, then moved
// dx pixels right and dy pixels down, to out:
//
//	out[ch][y][x] = img[ch][y−dy][x′], x′ = x−dx, or w−1−(x−dx) if flip
//
// and 0 where that falls outside the image.
func Transform(img, out []float32, c, h, w int, flip bool, dx, dy int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			dst := out[(ch*h+y)*w : (ch*h+y+1)*w]
			sy := y - dy
			if sy < 0 || sy >= h {
				clear(dst)
				continue
			}
			src := img[(ch*h+sy)*w : (ch*h+sy+1)*w]
			for x := range dst {
				sx := x - dx
				switch {
				case sx < 0 || sx >= w:
					dst[x] = 0
				case flip:
					dst[x] = src[w-1-sx]
				default:
					dst[x] = src[sx]
				}
			}
		}
	}
}

// CenterCrop writes the central k×k window of img (c×h×w) to out (c×k×k).
func CenterCrop(img, out []float32, c, h, w, k int) {
	crop(img, out, c, h, w, k, (h-k)/2, (w-k)/2)
}

// RandomCrop writes a k×k window of img (c×h×w), placed uniformly at random
// (row drawn first, then column), to out (c×k×k).
func RandomCrop(r *rand.Rand, img, out []float32, c, h, w, k int) {
	y0 := r.IntN(h - k + 1)
	x0 := r.IntN(w - k + 1)
	crop(img, out, c, h, w, k, y0, x0)
}

func crop(img, out []float32, c, h, w, k, y0, x0 int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < k; y++ {
			s := (ch*h+y0+y)*w + x0
			copy(out[(ch*k+y)*k:(ch*k+y+1)*k], img[s:s+k])
		}
	}
}
