package engine

import "fmt"

// winogradTransforms are the Kronecker forms of the 1-D transforms of
// F(m, 3), row-major: bb = Bᵀ⊗Bᵀ (t²×t²), aa = Aᵀ⊗Aᵀ (m²×t²), gg = G⊗G (t²×9)
// and ggRot, gg with its columns reversed, which transforms a kernel rotated
// by 180° (the vector of a rotated 3×3 kernel is the reversed vector).
type winogradTransforms struct {
	m, t              int
	bb, aa, gg, ggRot []float32
}

// winograd1D returns Bᵀ (t×t), G (t×3) and Aᵀ (m×t) of F(m, 3), from Lavin
// & Gray §4.1 (m = 2, interpolation points 0, ±1, ∞) and §4.2 (m = 4, points
// 0, ±1, ±2, ∞).
func winograd1D(m int) (bt, g, at [][]float64) {
	switch m {
	case 2:
		bt = [][]float64{
			{1, 0, -1, 0},
			{0, 1, 1, 0},
			{0, -1, 1, 0},
			{0, 1, 0, -1},
		}
		g = [][]float64{
			{1, 0, 0},
			{0.5, 0.5, 0.5},
			{0.5, -0.5, 0.5},
			{0, 0, 1},
		}
		at = [][]float64{
			{1, 1, 1, 0},
			{0, 1, -1, -1},
		}
	case 4:
		bt = [][]float64{
			{4, 0, -5, 0, 1, 0},
			{0, -4, -4, 1, 1, 0},
			{0, 4, -4, -1, 1, 0},
			{0, -2, -1, 2, 1, 0},
			{0, 2, -1, -2, 1, 0},
			{0, 4, 0, -5, 0, 1},
		}
		g = [][]float64{
			{1.0 / 4, 0, 0},
			{-1.0 / 6, -1.0 / 6, -1.0 / 6},
			{-1.0 / 6, 1.0 / 6, -1.0 / 6},
			{1.0 / 24, 1.0 / 12, 1.0 / 6},
			{1.0 / 24, -1.0 / 12, 1.0 / 6},
			{0, 0, 1},
		}
		at = [][]float64{
			{1, 1, 1, 1, 1, 0},
			{0, 1, -1, 2, -2, 0},
			{0, 1, 1, 4, 4, 0},
			{0, 1, -1, 8, -8, 1},
		}
	default:
		panic(fmt.Sprintf("kernel: Winograd F(%d×%d, 3×3): output tile must be 2 or 4", m, m))
	}
	return bt, g, at
}

// kron returns p⊗p row-major: entry ((i,j), (a,b)) is p[i][a]·p[j][b], so
// that (p⊗p)·vec(X) = vec(p X pᵀ) for row-major vec.
func kron(p [][]float64) []float32 {
	r, c := len(p), len(p[0])
	out := make([]float32, 0, r*r*c*c)
	for i := range r {
		for j := range r {
			for a := range c {
				for b := range c {
					out = append(out, float32(p[i][a]*p[j][b]))
				}
			}
		}
	}
	return out
}

func newWinogradTransforms(m int) *winogradTransforms {
	bt, g, at := winograd1D(m)
	tr := &winogradTransforms{m: m, t: m + 2, bb: kron(bt), aa: kron(at), gg: kron(g)}
	tr.ggRot = make([]float32, len(tr.gg))
	for r := 0; r < len(tr.gg); r += 9 {
		for q := range 9 {
			tr.ggRot[r+q] = tr.gg[r+8-q]
		}
	}
	return tr
}
