package kernel

import "fmt"

// Occlusion configures occlusion sensitivity.
type Occlusion struct {
	Window int     // side of the square patch; 0 means an eighth of the input's larger side
	Stride int     // 0 means half the window
	Fill   float32 // the value of an occluded pixel in every channel (0: the mean colour after normalisation)
	Batch  int     // occluded images per forward pass; 0 means 32
}

// Occlusion returns, for each example of x, how much the target's value
// falls when a Window×Window patch around each pixel is replaced by Fill in
// every channel: f(x) − f(x with the patch filled), averaged over the
// patches (positions Stride apart) that cover the pixel, the same for every
// channel. Pixels no patch covers get 0. It needs forward passes only, one
// per patch position.
func (n *Net) Occlusion(x *Tensor, targets []Target, o Occlusion) (*Tensor, []Target, error) {
	h, w := x.H(), x.W()
	if o.Window <= 0 {
		o.Window = max(1, max(h, w)/8)
	}
	if o.Stride <= 0 {
		o.Stride = max(1, o.Window/2)
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.Window > h || o.Window > w {
		return nil, nil, fmt.Errorf("kernel: occlusion window %d larger than the %d×%d input: %w", o.Window, h, w, ErrTarget)
	}
	top, used, act, err := n.resolve(x, targets, true)
	if err != nil {
		return nil, nil, err
	}
	sh := n.Shapes[top]
	base := make([]float32, x.N())
	for i := range base {
		base[i] = valueAt(act.Example(i), used[i], sh)
	}
	var pos [][2]int
	for y := 0; y+o.Window <= h; y += o.Stride {
		for x := 0; x+o.Window <= w; x += o.Stride {
			pos = append(pos, [2]int{y, x})
		}
	}
	out := NewTensor(x.Shape...)
	c, hw := x.C(), h*w
	sum, count := make([]float64, hw), make([]int, hw)
	for i := range x.N() {
		ex := x.Example(i)
		clear(sum)
		clear(count)
		for p0 := 0; p0 < len(pos); p0 += o.Batch {
			nb := min(o.Batch, len(pos)-p0)
			xb := NewTensor(nb, c, h, w)
			for j := range nb {
				e := xb.Example(j)
				copy(e, ex)
				y0, x0 := pos[p0+j][0], pos[p0+j][1]
				for ch := range c {
					for y := y0; y < y0+o.Window; y++ {
						row := e[ch*hw+y*w+x0 : ch*hw+y*w+x0+o.Window]
						for k := range row {
							row[k] = o.Fill
						}
					}
				}
			}
			a, err := n.ForwardTo(xb, top, false)
			if err != nil {
				return nil, nil, err
			}
			for j := range nb {
				d := float64(base[i] - valueAt(a.Example(j), used[i], sh))
				y0, x0 := pos[p0+j][0], pos[p0+j][1]
				for y := y0; y < y0+o.Window; y++ {
					for x := x0; x < x0+o.Window; x++ {
						sum[y*w+x] += d
						count[y*w+x]++
					}
				}
			}
		}
		dst := out.Example(i)
		for k := range hw {
			if count[k] > 0 {
				v := float32(sum[k] / float64(count[k]))
				for ch := range c {
					dst[ch*hw+k] = v
				}
			}
		}
	}
	return out, used, nil
}
