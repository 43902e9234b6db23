package trainer

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// correlatedDataset has n images of c×h×w whose pixels are 128 plus a fixed
// random mix of independent normal sources with scales 8, 8/2, 8/3, …: a
// full-rank, far from isotropic covariance. The mix depends on the shape
// only, so two calls with different seeds draw from one distribution.
func correlatedDataset(n, c, h, w int, seed uint64) *dataset.Dataset {
	dim := c * h * w
	mr := rand.New(rand.NewPCG(uint64(dim), 0))
	mix := make([]float64, dim*dim)
	for i := range mix {
		mix[i] = mr.NormFloat64()
	}
	r := rand.New(rand.NewPCG(seed, 1))
	d := &dataset.Dataset{Classes: []string{"x"}, C: c, H: h, W: w, Labels: make([]int, n), Images: make([]float32, n*dim)}
	z := make([]float64, dim)
	for i := 0; i < n; i++ {
		for k := range z {
			z[k] = r.NormFloat64() * 8 / float64(1+k)
		}
		for j := 0; j < dim; j++ {
			s := 128.0
			for k, v := range z {
				s += mix[j*dim+k] * v
			}
			d.Images[i*dim+j] = float32(min(max(s, 0), 255))
		}
	}
	return d
}

// gcn64 is global contrast normalization in float64, written from the
// recipe rather than from preprocess.GCN.
func gcn64(img []float32, scale float64) []float64 {
	x := make([]float64, len(img))
	var mean, ss float64
	for i, v := range img {
		x[i] = float64(v) / 255
		mean += x[i]
	}
	mean /= float64(len(x))
	for i := range x {
		x[i] -= mean
		ss += x[i] * x[i]
	}
	norm := math.Sqrt(ss)
	if norm < 1e-8 {
		norm = 1
	}
	for i := range x {
		x[i] *= scale / norm
	}
	return x
}

// zcaReference fits GCN + ZCA the plain way: float64 throughout, a naive
// covariance, and gonum's symmetric eigendecomposition.
type zcaReference struct {
	mean []float64
	vals []float64     // eigenvalues of the covariance
	vecs *mat.Dense    // its eigenvectors, as columns
	w    *mat.SymDense // U diag(1/√(λ+eps)) Uᵀ
}

func fitReference(d *dataset.Dataset, scale, eps float64) zcaReference {
	dim, n := d.C*d.H*d.W, d.Len()
	g := make([][]float64, n)
	mean := make([]float64, dim)
	for i := range g {
		g[i] = gcn64(d.Image(i), scale)
		for j, v := range g[i] {
			mean[j] += v / float64(n)
		}
	}
	cov := mat.NewSymDense(dim, nil)
	for a := 0; a < dim; a++ {
		for b := a; b < dim; b++ {
			var s float64
			for i := range g {
				s += (g[i][a] - mean[a]) * (g[i][b] - mean[b])
			}
			cov.SetSym(a, b, s/float64(n))
		}
	}
	ref := zcaReference{mean: mean}
	ref.vals, ref.vecs, ref.w = symFunc(cov, func(l float64) float64 { return 1 / math.Sqrt(l+eps) })
	return ref
}

// symFunc returns the eigenvalues and eigenvectors of a and the matrix
// U diag(f(λ)) Uᵀ.
func symFunc(a *mat.SymDense, f func(float64) float64) ([]float64, *mat.Dense, *mat.SymDense) {
	var es mat.EigenSym
	if !es.Factorize(a, true) {
		panic("EigenSym failed")
	}
	vals := es.Values(nil)
	vecs := new(mat.Dense)
	es.VectorsTo(vecs)
	n := len(vals)
	out := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			var s float64
			for k, l := range vals {
				s += vecs.At(i, k) * f(l) * vecs.At(j, k)
			}
			out.SetSym(i, j, s)
		}
	}
	return vals, vecs, out
}

func maxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}

func TestFitChannel(t *testing.T) {
	// Two 2×1×2 images; channel 1 is constant.
	d := &dataset.Dataset{Classes: []string{"a"}, C: 2, H: 1, W: 2, Labels: []int{0, 0},
		Images: []float32{0, 51, 7, 7, 102, 255, 7, 7}}
	p := FitChannel(d)
	// Channel 0 on [0, 1]: 0, 0.2, 0.4, 1 → mean 0.4, variance (0.16+0.04+0+0.36)/4 = 0.14.
	want := preprocess.Params{Kind: preprocess.Channel, Mean: []float32{0.4, 7.0 / 255}, Std: []float32{float32(math.Sqrt(0.14)), 1}}
	if p.Kind != want.Kind || !near32(p.Mean, want.Mean, 1e-6) || !near32(p.Std, want.Std, 1e-6) {
		t.Errorf("got %+v, want %+v", p, want)
	}
	if err := p.Validate(2, 1, 2); err != nil {
		t.Error(err)
	}
}

func near32(a, b []float32, tol float64) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Abs(float64(x-y)) <= tol })
}

func TestInvSqrtShifted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lowRank := func(n, rank int) *mat.SymDense { // XᵀX/rank, X rank×n: rank-deficient when rank < n
		x := mat.NewDense(rank, n, nil)
		for i := 0; i < rank; i++ {
			for j := 0; j < n; j++ {
				x.Set(i, j, r.NormFloat64()*float64(1+j%7))
			}
		}
		a := mat.NewSymDense(n, nil)
		a.SymOuterK(1/float64(rank), x.T())
		return a
	}
	repeated := mat.NewSymDense(40, nil) // eigenvalue 2 with multiplicity 39, and 42
	for i := 0; i < 40; i++ {
		for j := i; j < 40; j++ {
			v := 1.0
			if i == j {
				v += 2
			}
			repeated.SetSym(i, j, v)
		}
	}
	for _, c := range []struct {
		name string
		a    *mat.SymDense
		eps  float64
	}{
		{"1×1", mat.NewSymDense(1, []float64{4}), 0.1},
		{"zero 3×3", mat.NewSymDense(3, nil), 0.1},
		{"full rank", lowRank(50, 200), 0.1},
		{"rank 20 of 60", lowRank(60, 20), 0.1},
		{"rank 20 of 60, small eps", lowRank(60, 20), 1e-6},
		{"repeated eigenvalues", repeated, 0.01},
		{"a 200×200", lowRank(200, 150), 0.1},
	} {
		n := c.a.SymmetricDim()
		_, _, want := symFunc(c.a, func(l float64) float64 { return 1 / math.Sqrt(max(l, 0)+c.eps) })
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				a[i*n+j] = c.a.At(i, j)
			}
		}
		got, err := invSqrtShifted(a, n, c.eps)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var diff float64
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if got[i*n+j] != got[j*n+i] {
					t.Fatalf("%s: not symmetric at %d,%d", c.name, i, j)
				}
				diff = max(diff, math.Abs(got[i*n+j]-want.At(i, j)))
			}
		}
		// Both sides are backward stable: each eigenvalue may move by about
		// u·‖A‖, which f(λ) = 1/√(λ+eps) amplifies by |f′| ≤ eps^(−3/2)/2.
		scale := 1 / math.Sqrt(c.eps)
		tol := 1e-9*scale + 1e-13*maxAbs(c.a.RawSymmetric().Data)*math.Pow(c.eps, -1.5)
		t.Logf("%s: max diff %.3g (entries up to %.3g, tolerance %.3g)", c.name, diff, scale, tol)
		if diff > tol {
			t.Errorf("%s: max diff %g from EigenSym's", c.name, diff)
		}
	}
	// Not positive semidefinite (or NaN): refused.
	for _, a := range [][]float64{{-1, 0, 0, -1}, {math.NaN(), 0, 0, 1}} {
		if _, err := invSqrtShifted(a, 2, 0.1); err == nil {
			t.Errorf("%v: no error", a)
		}
	}
}

func TestFitGCNZCA(t *testing.T) {
	const c, h, w, n = 3, 3, 3, 3000 // 27 dimensions, 111 images per dimension
	dim := c * h * w
	full := correlatedDataset(n+20, c, h, w, 7)
	train, held := full.Split(20)
	for _, eps := range []float64{0.1, 1e-4} {
		p, err := FitGCNZCA(train, DefaultGCNScale, float32(eps))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(c, h, w); err != nil || p.Kind != preprocess.GCNZCA || p.GCNScale != 55 {
			t.Fatalf("eps %g: %v, kind %q, scale %v", eps, err, p.Kind, p.GCNScale)
		}
		ref := fitReference(train, DefaultGCNScale, eps)

		// W is symmetric and matches the reference.
		var wdiff, wmax float64
		for i := 0; i < dim; i++ {
			for j := 0; j < dim; j++ {
				if p.ZCA[i*dim+j] != p.ZCA[j*dim+i] {
					t.Fatalf("eps %g: ZCA not symmetric at %d,%d", eps, i, j)
				}
				wdiff = max(wdiff, math.Abs(float64(p.ZCA[i*dim+j])-ref.w.At(i, j)))
				wmax = max(wmax, math.Abs(ref.w.At(i, j)))
			}
		}
		var mdiff float64
		for j, m := range ref.mean {
			mdiff = max(mdiff, math.Abs(float64(p.ZCAMean[j])-m))
		}
		t.Logf("eps %g: W max diff %.3g of %.3g, mean max diff %.3g", eps, wdiff, wmax, mdiff)
		if wdiff > 1e-4*wmax || mdiff > 1e-5 {
			t.Errorf("eps %g: W differs from the reference by %g (of %g), mean by %g", eps, wdiff, wmax, mdiff)
		}

		// The whitened training set has covariance U diag(λ/(λ+eps)) Uᵀ:
		// the identity, but for directions of variance well under eps (here
		// the one GCN removes, all ones).
		idx := make([]int, train.Len())
		for i := range idx {
			idx[i] = i
		}
		out := make([]float32, len(idx)*dim)
		ApplyBatch(&p, train, idx, out)
		cov := covariance(out, dim)
		var cdiff float64
		for i := 0; i < dim; i++ {
			for j := 0; j < dim; j++ {
				var want float64
				for k, l := range ref.vals {
					want += ref.vecs.At(i, k) * l / (l + eps) * ref.vecs.At(j, k)
				}
				cdiff = max(cdiff, math.Abs(cov.At(i, j)-want))
			}
		}
		var es mat.EigenSym
		es.Factorize(cov, false)
		vals := es.Values(nil)
		t.Logf("eps %g: whitened covariance max diff %.3g; eigenvalues %.4f … %.4f, %.4f", eps, cdiff, vals[0], vals[1], vals[dim-1])
		if cdiff > 1e-3 {
			t.Errorf("eps %g: whitened covariance differs from U diag(λ/(λ+eps)) Uᵀ by %g", eps, cdiff)
		}
		if eps == 1e-4 && (vals[0] > 1e-6 || vals[1] < 0.95 || vals[dim-1] > 1.0001) {
			t.Errorf("eps %g: whitened covariance eigenvalues %v, want one 0 and the rest near 1", eps, vals)
		}

		// Params.Apply on held-out images agrees with a float64 computation
		// from the reference fit, and ApplyBatch with Params.Apply.
		all := make([]int, held.Len())
		for i := range all {
			all[i] = i
		}
		batch := make([]float32, held.Len()*dim)
		ApplyBatch(&p, held, all, batch)
		one, tmp := make([]float32, dim), make([]float32, dim)
		var adiff, bdiff, ymax float64
		for i := 0; i < held.Len(); i++ {
			p.Apply(held.Image(i), one, tmp, c)
			g := gcn64(held.Image(i), DefaultGCNScale)
			for j := range g {
				g[j] -= ref.mean[j]
			}
			for j := 0; j < dim; j++ {
				var y float64
				for k, v := range g {
					y += v * ref.w.At(k, j)
				}
				ymax = max(ymax, math.Abs(y))
				adiff = max(adiff, math.Abs(float64(one[j])-y))
				bdiff = max(bdiff, math.Abs(float64(one[j]-batch[i*dim+j])))
			}
		}
		t.Logf("eps %g: Apply vs float64 max diff %.3g (outputs up to %.3g), ApplyBatch vs Apply %.3g", eps, adiff, ymax, bdiff)
		if adiff > 1e-4*ymax || bdiff > 1e-5*ymax {
			t.Errorf("eps %g: Apply differs from float64 by %g, ApplyBatch from Apply by %g (outputs up to %g)", eps, adiff, bdiff, ymax)
		}
	}
}

// covariance of the rows of x (n×dim), dividing by n.
func covariance(x []float32, dim int) *mat.SymDense {
	n := len(x) / dim
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			mean[j] += float64(x[i*dim+j]) / float64(n)
		}
	}
	cov := mat.NewSymDense(dim, nil)
	for a := 0; a < dim; a++ {
		for b := a; b < dim; b++ {
			var s float64
			for i := 0; i < n; i++ {
				s += (float64(x[i*dim+a]) - mean[a]) * (float64(x[i*dim+b]) - mean[b])
			}
			cov.SetSym(a, b, s/float64(n))
		}
	}
	return cov
}

func TestApplyBatchChannel(t *testing.T) {
	d := correlatedDataset(5, 3, 2, 2, 1)
	for _, p := range []preprocess.Params{FitChannel(d), {Kind: preprocess.None}} {
		idx := []int{4, 0, 4}
		out := make([]float32, 3*12)
		ApplyBatch(&p, d, idx, out)
		want := make([]float32, 12)
		for k, i := range idx {
			p.Apply(d.Image(i), want, nil, 3)
			if !slices.Equal(out[k*12:(k+1)*12], want) {
				t.Errorf("%s: batch image %d differs from Apply", p.Kind, k)
			}
		}
	}
}

func TestFitGCNZCAErrors(t *testing.T) {
	for _, c := range []struct {
		name       string
		d          *dataset.Dataset
		scale, eps float32
		want       string
	}{
		{"too big", &dataset.Dataset{C: 1, H: 65, W: 64, Labels: []int{0, 0}, Images: make([]float32, 2*65*64)}, 55, 0.1, "4160 dimensions"},
		{"one image", correlatedDataset(1, 1, 2, 2, 1), 55, 0.1, "at least 2"},
		{"eps 0", correlatedDataset(9, 1, 2, 2, 1), 55, 0, "eps"},
		{"NaN pixel", &dataset.Dataset{C: 1, H: 1, W: 2, Labels: []int{0, 0}, Images: []float32{1, float32(math.NaN()), 3, 4}}, 55, 0.1, "not positive semidefinite or not finite"},
	} {
		if _, err := FitGCNZCA(c.d, c.scale, c.eps); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func TestChoosePreprocess(t *testing.T) {
	// 2×2 gray images: 4 dimensions, so ZCA is refused up to 4 images,
	// warned about below 40, and chosen by auto from 40 on.
	big := &dataset.Dataset{Classes: []string{"x"}, C: 1, H: 65, W: 64, Labels: make([]int, 3), Images: make([]float32, 3*65*64)}
	for _, c := range []struct {
		kind     string
		d        *dataset.Dataset
		want     string // Params.Kind, or "error"
		saysWhat string // on the warn writer
	}{
		{"none", correlatedDataset(3, 1, 2, 2, 1), preprocess.None, ""},
		{"channel", correlatedDataset(3, 1, 2, 2, 1), preprocess.Channel, ""},
		{"zca", correlatedDataset(4, 1, 2, 2, 1), "error", ""},
		{"zca", correlatedDataset(5, 1, 2, 2, 1), preprocess.GCNZCA, "warning: ZCA fitted on 5 images of 4 dimensions"},
		{"gcn-zca", correlatedDataset(39, 1, 2, 2, 1), preprocess.GCNZCA, "warning"},
		{"zca", correlatedDataset(40, 1, 2, 2, 1), preprocess.GCNZCA, ""},
		{"zca", big, "error", ""},
		{"auto", correlatedDataset(39, 1, 2, 2, 1), preprocess.Channel, "per-channel normalization (39 images, 4 dimensions"},
		{"auto", correlatedDataset(40, 1, 2, 2, 1), preprocess.GCNZCA, "GCN + ZCA (40 images, 4 dimensions)"},
		{"auto", big, preprocess.Channel, "per-channel"},
		{"pca", correlatedDataset(3, 1, 2, 2, 1), "error", ""},
	} {
		var warn bytes.Buffer
		p, err := ChoosePreprocess(c.kind, c.d, &warn)
		got := p.Kind
		if err != nil {
			got = "error"
		}
		if got != c.want || !strings.Contains(warn.String(), c.saysWhat) || (c.saysWhat == "" && warn.Len() > 0) {
			t.Errorf("%s on %d images: %s (%v), said %q; want %s, saying %q", c.kind, c.d.Len(), got, err, warn.String(), c.want, c.saysWhat)
		}
		if err == nil {
			if verr := p.Validate(c.d.C, c.d.H, c.d.W); verr != nil {
				t.Errorf("%s: %v", c.kind, verr)
			}
		}
	}
	if _, err := ChoosePreprocess("auto", correlatedDataset(3, 1, 2, 2, 1), nil); err != nil {
		t.Errorf("nil warn: %v", err)
	}
}

// BenchmarkFitGCNZCACIFAR10 fits ZCA on the 45,000 training images of the
// CIFAR-10 JPEG tar (after holding out 500 per class). It takes minutes:
// run it alone, once (-run '^$' -bench FitGCNZCA -benchtime 1x).
func BenchmarkFitGCNZCACIFAR10(b *testing.B) {
	if _, err := os.Stat(strings.TrimPrefix(realData, "folder:")); err != nil {
		b.Skip("no", realData)
	}
	d, err := dataset.Load(realData)
	if err != nil {
		b.Fatal(err)
	}
	train, _ := d.Split(500)
	d = nil
	for b.Loop() {
		start := time.Now()
		p, err := FitGCNZCA(train, DefaultGCNScale, DefaultZCAEps)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("fit on %d images: %v", train.Len(), time.Since(start))
		idx := make([]int, 128)
		for i := range idx {
			idx[i] = i
		}
		out := make([]float32, 128*3072)
		start = time.Now()
		ApplyBatch(&p, train, idx, out)
		b.Logf("ApplyBatch of 128: %v", time.Since(start))
	}
}
