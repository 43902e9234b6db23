package trainer

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Augment is the paper's CIFAR augmentation (NOTES.md §5): horizontal flips
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

// Cutout sets to 0 a size×size square of img (c×h×w), in every channel
// (DeVries and Taylor 2017): its centre is drawn uniformly over the image
// (row, then column), at ((size−1)/2, (size−1)/2) within the square, and the
// part outside the image is dropped, so a square near a border blanks less.
// As with translations, 0 is the mean under channel normalization.
func Cutout(r *rand.Rand, img []float32, c, h, w, size int) {
	cy, cx := r.IntN(h), r.IntN(w)
	y0, x0 := cy-(size-1)/2, cx-(size-1)/2
	y1, x1 := min(y0+size, h), min(x0+size, w)
	y0, x0 = max(y0, 0), max(x0, 0)
	for ch := 0; ch < c; ch++ {
		for y := y0; y < y1; y++ {
			clear(img[(ch*h+y)*w+x0 : (ch*h+y)*w+x1])
		}
	}
}

// CenterCrop writes the central k×k window of img (c×h×w) to out (c×k×k),
// as preprocess.Place does.
func CenterCrop(img, out []float32, c, h, w, k int) {
	preprocess.Place(img, out[:c*k*k], c, h, w, k, k)
}

// RandomCrop writes a k×k window of img (c×h×w), placed uniformly at random
// (row drawn first, then column), to out (c×k×k).
func RandomCrop(r *rand.Rand, img, out []float32, c, h, w, k int) {
	randomCrop(r, img, out, c, h, w, k, k)
}

// randomCrop is RandomCrop of a kh×kw window.
func randomCrop(r *rand.Rand, img, out []float32, c, h, w, kh, kw int) {
	y0 := r.IntN(h - kh + 1)
	x0 := r.IntN(w - kw + 1)
	crop(img, out, c, h, w, kh, kw, y0, x0)
}

func crop(img, out []float32, c, h, w, kh, kw, y0, x0 int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < kh; y++ {
			s := (ch*h+y0+y)*w + x0
			copy(out[(ch*kh+y)*kw:(ch*kh+y+1)*kw], img[s:s+kw])
		}
	}
}

// flipInPlace mirrors each row of img (c×h×w) left–right.
func flipInPlace(img []float32, c, h, w int) {
	for row := 0; row < c*h; row++ {
		slices.Reverse(img[row*w : (row+1)*w])
	}
}

// CenterCanvas writes img (c×h×w) to the centre of a zero canvas out
// (c×H×W, H ≥ h, W ≥ w), its top-left corner at ((H−h)/2, (W−w)/2),
// rounded down: the Large All-CNN's evaluation input (paper Table 5, NOTES.md §3). In
// network-input space 0 is the mean (channel normalization) or black
// (none). It equals Place with the identity Placement, and is
// preprocess.Place, the placement of the model file's input contract.
func CenterCanvas(img, out []float32, c, h, w, H, W int) {
	preprocess.Place(img, out[:c*H*W], c, h, w, H, W)
}

// Canvas is the Large All-CNN's training augmentation (NOTES.md §3: a
// 32×32 image on a 126×126 canvas, "room for scaling, rotation, colour
// augmentation"; the paper gives no ranges, so these are ours). Each image
// is mirrored left–right with probability 1/2 if Flip, scaled by a factor
// drawn uniformly from [MinScale, MaxScale], rotated by an angle drawn
// uniformly from [−MaxRotate, MaxRotate] degrees about its centre, moved
// from the centred position by a translation drawn uniformly within Shift
// times the free margin (the room left on each side by the bounding box of
// the scaled, rotated image, so at Shift 1 the whole image stays on the
// canvas), and each channel is multiplied by a factor drawn uniformly from
// [1−Jitter, 1+Jitter]. It works on preprocessed images, so the canvas is 0
// (the mean under channel normalization) and the colour factor scales each
// channel's deviation from its mean. Canvas pixels are sampled bilinearly
// from the source image, 0 outside it (see Place).
//
// Draws come from the *rand.Rand passed in, in a fixed order per image:
// flip, scale, angle, dx, dy, then one factor per channel; a disabled part
// (Flip false, MinScale = MaxScale, MaxRotate 0, Shift 0, Jitter 0) draws
// nothing. As with Augment, build the *rand.Rand on a rand.PCG that a
// checkpoint saves, and a run is reproducible from its seed.
type Canvas struct {
	Flip               bool
	MinScale, MaxScale float64 // canvas pixels per source pixel; 1 is the original size
	MaxRotate          float64 // degrees
	Shift              float64 // fraction of the free margin a translation may use, in [0, 1]
	Jitter             float64 // per-channel colour factor in [1−Jitter, 1+Jitter]
}

// DefaultCanvas is the augmentation a run uses in canvas mode with
// -augment: flips, scale 0.8–1.2, rotation ±15°, translation anywhere the
// image stays whole on the canvas, colour factors 0.8–1.2.
var DefaultCanvas = Canvas{Flip: true, MinScale: 0.8, MaxScale: 1.2, MaxRotate: 15, Shift: 1, Jitter: 0.2}

// Placement is where and how one image goes on the canvas: mirrored
// left–right if Flip, scaled by Scale (canvas pixels per source pixel;
// 0 means 1), rotated counter-clockwise as displayed (y pointing down) by
// Angle radians about its centre, moved DX pixels right and DY pixels down
// from the centred position, and channel ch multiplied by Gain[ch] (nil:
// all 1).
type Placement struct {
	Flip   bool
	Scale  float64
	Angle  float64
	DX, DY float64
	Gain   []float32
}

// Draw draws the placement of one c×h×w image on an H×W canvas.
func (cv Canvas) Draw(r *rand.Rand, c, h, w, H, W int) Placement {
	p := Placement{Scale: cv.MinScale}
	if cv.Flip {
		p.Flip = r.IntN(2) == 1
	}
	if cv.MaxScale != cv.MinScale {
		p.Scale = cv.MinScale + (cv.MaxScale-cv.MinScale)*r.Float64()
	}
	if cv.MaxRotate != 0 {
		p.Angle = (2*r.Float64() - 1) * cv.MaxRotate * math.Pi / 180
	}
	if cv.Shift != 0 {
		s := p.Scale
		if s == 0 {
			s = 1
		}
		cos, sin := math.Abs(math.Cos(p.Angle)), math.Abs(math.Sin(p.Angle))
		bw, bh := s*(cos*float64(w)+sin*float64(h)), s*(sin*float64(w)+cos*float64(h))
		mx, my := cv.Shift*max(float64(W)-bw, 0)/2, cv.Shift*max(float64(H)-bh, 0)/2
		p.DX = (2*r.Float64() - 1) * mx
		p.DY = (2*r.Float64() - 1) * my
	}
	if cv.Jitter != 0 {
		p.Gain = make([]float32, c)
		for ch := range p.Gain {
			p.Gain[ch] = float32(1 + (2*r.Float64()-1)*cv.Jitter)
		}
	}
	return p
}

// Apply draws a placement of img (c×h×w) and writes the H×W canvas to out
// (c×H×W, not overlapping img).
func (cv Canvas) Apply(r *rand.Rand, img, out []float32, c, h, w, H, W int) {
	Place(img, out, c, h, w, H, W, cv.Draw(r, c, h, w, H, W))
}

// Place writes img (c×h×w) to out (c×H×W) as p says. Pixel centres are at
// integer coordinates; the image's centre ((w−1)/2, (h−1)/2) goes to its
// centred position, that of CenterCanvas, moved by (DX, DY). Each canvas
// pixel is mapped back through the inverse translation, rotation, scaling
// and flip, and sampled bilinearly from img, with 0 outside it; a source
// coordinate within 1e−9 of an integer is taken as that integer, so that
// pixel-aligned placements (identity, 90° turns, integer moves) copy
// values exactly.
func Place(img, out []float32, c, h, w, H, W int, p Placement) {
	s := p.Scale
	if s == 0 {
		s = 1
	}
	cos, sin := math.Cos(p.Angle)/s, math.Sin(p.Angle)/s
	// The image centre, in source and in canvas coordinates.
	sx0, sy0 := float64(w-1)/2, float64(h-1)/2
	cx0 := sx0 + float64((W-w)/2) + p.DX
	cy0 := sy0 + float64((H-h)/2) + p.DY
	hw, HW := h*w, H*W
	for Y := 0; Y < H; Y++ {
		for X := 0; X < W; X++ {
			ux, uy := float64(X)-cx0, float64(Y)-cy0
			sx := snap(cos*ux - sin*uy + sx0)
			sy := snap(sin*ux + cos*uy + sy0)
			if p.Flip {
				sx = float64(w-1) - sx
			}
			o := Y*W + X
			if !(sx > -1 && sx < float64(w) && sy > -1 && sy < float64(h)) {
				for ch := 0; ch < c; ch++ {
					out[ch*HW+o] = 0
				}
				continue
			}
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			// The four taps and their weights; a tap outside the image is 0.
			var idx [4]int
			var wt [4]float64
			k := 0
			for dy := 0; dy < 2; dy++ {
				yy := y0 + dy
				wy := 1 - fy
				if dy == 1 {
					wy = fy
				}
				if yy < 0 || yy >= h || wy == 0 {
					continue
				}
				for dx := 0; dx < 2; dx++ {
					xx := x0 + dx
					wx := 1 - fx
					if dx == 1 {
						wx = fx
					}
					if xx < 0 || xx >= w || wx == 0 {
						continue
					}
					idx[k], wt[k] = yy*w+xx, wx*wy
					k++
				}
			}
			for ch := 0; ch < c; ch++ {
				src := img[ch*hw : (ch+1)*hw]
				var v float64
				for t := 0; t < k; t++ {
					v += wt[t] * float64(src[idx[t]])
				}
				if p.Gain != nil {
					v *= float64(p.Gain[ch])
				}
				out[ch*HW+o] = float32(v)
			}
		}
	}
}

// snap rounds v to the nearest integer when it is within 1e−9 of it,
// undoing the rounding of cos and sin at multiples of 90°.
func snap(v float64) float64 {
	if r := math.Round(v); math.Abs(v-r) < 1e-9 {
		return r
	}
	return v
}
