package trainer

import (
	"fmt"
	"io"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/gonum"

	"github.com/allcnn/allcnn/dataset"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Defaults of the pylearn2 recipe (NOTES.md §5).
const (
	DefaultGCNScale = 55  // L2 norm of each image after global contrast normalization
	DefaultZCAEps   = 0.1 // added to the covariance eigenvalues before whitening
)

// MaxZCADim bounds D = C·H·W for ZCA. The fit holds two D×D float64
// matrices and takes O(D³) time, and the model file carries a D×D matrix:
// 4096 admits CIFAR's 3072 (a fit of 2⅓ minutes on 45,000 images, two
// shared cores) and stops a 224×224 ImageNet input (D = 150,528) early.
const MaxZCADim = 4096

// FitChannel fits per-channel normalization: the mean and the standard
// deviation (over all pixels of all images, on the [0, 1] scale) of each
// channel. A constant channel gets deviation 1.
func FitChannel(d *dataset.Dataset) preprocess.Params {
	hw := d.H * d.W
	p := preprocess.Params{Kind: preprocess.Channel, Mean: make([]float32, d.C), Std: make([]float32, d.C)}
	for c := 0; c < d.C; c++ {
		var sum, sq float64
		for i := 0; i < d.Len(); i++ {
			for _, v := range d.Image(i)[c*hw : (c+1)*hw] {
				x := float64(v) / 255
				sum += x
				sq += x * x
			}
		}
		n := float64(d.Len() * hw)
		mean := sum / n
		std := math.Sqrt(max(sq/n-mean*mean, 0))
		if std < 1e-6 {
			std = 1
		}
		p.Mean[c], p.Std[c] = float32(mean), float32(std)
	}
	return p
}

// FitGCNZCA fits global contrast normalization followed by ZCA whitening,
// the pylearn2 recipe of Goodfellow et al. (2013) used by the paper
// (NOTES.md §5): each image x (on the [0, 1] scale) becomes
// g = scale·(x − mean(x))/‖x − mean(x)‖ (preprocess.GCN); over the data set,
// μ = mean of g and Σ = (1/N)·Σᵢ(gᵢ − μ)(gᵢ − μ)ᵀ; with Σ = U diag(λ) Uᵀ the
// whitening matrix is W = U diag(1/√(λ + eps)) Uᵀ, and an image maps to
// (g − μ)·W. Everything is computed in float64 and stored as float32.
//
// It refuses images of more than MaxZCADim values. Fitted on fewer images
// than dimensions the covariance is singular and eps decides what held-out
// images become; ChoosePreprocess guards against that.
func FitGCNZCA(d *dataset.Dataset, scale, eps float32) (preprocess.Params, error) {
	dim, n := d.C*d.H*d.W, d.Len()
	switch {
	case dim > MaxZCADim:
		return preprocess.Params{}, fmt.Errorf("trainer: ZCA on %d×%d×%d images: %d dimensions is over the limit of %d", d.C, d.H, d.W, dim, MaxZCADim)
	case n < 2:
		return preprocess.Params{}, fmt.Errorf("trainer: ZCA needs at least 2 images, have %d", n)
	case !(scale > 0) || !(eps > 0):
		return preprocess.Params{}, fmt.Errorf("trainer: ZCA with GCN scale %v and eps %v: both must be positive", scale, eps)
	}
	g := make([]float32, dim)
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		preprocess.GCN(d.Image(i), g, scale)
		for j, v := range g {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	// Σ's upper triangle, accumulated a block of centred images at a time
	// with a rank-k update (Syrk), half the work of a general product.
	const block = 256
	cov := make([]float64, dim*dim)
	x := make([]float64, block*dim)
	for lo := 0; lo < n; lo += block {
		rows := min(block, n-lo)
		for r := 0; r < rows; r++ {
			preprocess.GCN(d.Image(lo+r), g, scale)
			row := x[r*dim : (r+1)*dim]
			for j, v := range g {
				row[j] = float64(v) - mean[j]
			}
		}
		blas64.Syrk(blas.Trans, 1/float64(n),
			blas64.General{Rows: rows, Cols: dim, Stride: dim, Data: x[:rows*dim]},
			1, blas64.Symmetric{Uplo: blas.Upper, N: dim, Stride: dim, Data: cov})
	}
	w, err := invSqrtShifted(cov, dim, float64(eps))
	if err != nil {
		return preprocess.Params{}, fmt.Errorf("trainer: ZCA: %w", err)
	}
	p := preprocess.Params{Kind: preprocess.GCNZCA, GCNScale: scale,
		ZCAMean: make([]float32, dim), ZCA: make([]float32, dim*dim)}
	for j, v := range mean {
		p.ZCAMean[j] = float32(v)
	}
	for j, v := range w {
		p.ZCA[j] = float32(v)
	}
	return p, nil
}

// invSqrtShifted returns (A + eps·I)^(−1/2) for a symmetric positive
// semidefinite n×n matrix A given by its upper triangle (row-major, n×n
// storage, overwritten), as a full symmetric matrix.
//
// LAPACK's route (Dsyev: tridiagonalize, then QR on the tridiagonal T with
// the rotations applied to the columns of a row-major matrix) takes four
// minutes for n = 3072 in pure Go, nearly all of it in the strided rotation
// updates. We go another way with the same building blocks:
//
//	A + eps·I = Q (T + eps·I) Qᵀ      (Dsytrd, Dorgtr)
//	T + eps·I = Bᵀ B                  (Cholesky of a positive definite tridiagonal: B upper bidiagonal)
//	B = P̃ S Pᵀ                        (Dbdsqr: singular value decomposition, Pᵀ accumulated by rows)
//
// so A + eps·I = (QP) S² (QP)ᵀ: its eigenvalues are S² and its eigenvectors
// the rows of (QP)ᵀ = Pᵀ Qᵀ, which Dbdsqr builds by applying its rotations
// to the contiguous rows of Qᵀ. Then (A + eps·I)^(−1/2) = Mᵀ M with
// M = S^(−1/2) (QP)ᵀ (Dsyrk). Since eps > 0 the Cholesky step is stable and
// the smallest eigenvalue it can meet is eps.
func invSqrtShifted(a []float64, n int, eps float64) ([]float64, error) {
	var impl gonum.Implementation
	d, e, tau := make([]float64, n), make([]float64, max(n-1, 1)), make([]float64, max(n-1, 1))
	query := []float64{0}
	impl.Dsytrd(blas.Upper, n, a, n, d, e, tau, query, -1)
	size := int(query[0])
	impl.Dorgtr(blas.Upper, n, a, n, tau, query, -1)
	work := make([]float64, max(size, int(query[0]), 4*n))
	impl.Dsytrd(blas.Upper, n, a, n, d, e, tau, work, len(work))
	impl.Dorgtr(blas.Upper, n, a, n, tau, work, len(work))

	// Cholesky of T + eps·I = L Lᵀ, L lower bidiagonal (diagonal d,
	// subdiagonal e); B = Lᵀ.
	for i := 0; i < n; i++ {
		t := d[i] + eps
		if !(t > 0) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("covariance is not positive semidefinite or not finite (pivot %d is %v)", i, t)
		}
		d[i] = math.Sqrt(t)
		if i < n-1 {
			e[i] /= d[i]
			d[i+1] -= e[i] * e[i]
		}
	}
	vt := make([]float64, n*n) // Qᵀ
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			vt[j*n+i] = a[i*n+j]
		}
	}
	if !impl.Dbdsqr(blas.Upper, n, n, 0, 0, d, e, vt, n, nil, 1, nil, 1, work[:4*n]) {
		return nil, fmt.Errorf("singular value iteration did not converge")
	}
	// Row k of vt is an eigenvector with eigenvalue d[k]² of A + eps·I.
	for k := 0; k < n; k++ {
		f := 1 / math.Sqrt(d[k])
		row := vt[k*n : (k+1)*n]
		for j := range row {
			row[j] *= f
		}
	}
	w := blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: a}
	blas64.Syrk(blas.Trans, 1, blas64.General{Rows: n, Cols: n, Stride: n, Data: vt}, 0, w)
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			a[i*n+j] = a[j*n+i]
		}
	}
	return a, nil
}

// ChoosePreprocess fits the preprocessing named by kind on the training set
// d: "none", "channel", "zca" (GCN then ZCA, also spelled "gcn-zca") or
// "auto". Auto picks ZCA when d has at least 10 images per dimension
// (N ≥ 10·C·H·W, e.g. 30,720 for CIFAR: the 45,000 images left after a
// validation split qualify) and D ≤ MaxZCADim, else per-channel
// normalization, and says which on warn. "zca" is refused when N ≤ C·H·W:
// the covariance is then singular, eps alone decides the whitening of the
// missing directions and held-out images become noise (NOTES.md §5: a run
// fitted on 2,000 images stayed at chance). Between D and 10·D it warns and
// fits. warn may be nil.
func ChoosePreprocess(kind string, d *dataset.Dataset, warn io.Writer) (preprocess.Params, error) {
	if warn == nil {
		warn = io.Discard
	}
	n, dim := d.Len(), d.C*d.H*d.W
	switch kind {
	case preprocess.None:
		return preprocess.Params{Kind: preprocess.None}, nil
	case preprocess.Channel:
		return FitChannel(d), nil
	case "zca", preprocess.GCNZCA:
		if n <= dim {
			return preprocess.Params{}, fmt.Errorf("trainer: ZCA on %d images of %d dimensions: it needs many more images than dimensions (NOTES.md §5); use channel", n, dim)
		}
		if n < 10*dim {
			fmt.Fprintf(warn, "warning: ZCA fitted on %d images of %d dimensions (fewer than 10 per dimension): held-out images may whiten to noise; consider -preprocess channel (NOTES.md §5)\n", n, dim)
		}
		return FitGCNZCA(d, DefaultGCNScale, DefaultZCAEps)
	case "auto":
		if n >= 10*dim && dim <= MaxZCADim {
			fmt.Fprintf(warn, "preprocess auto: GCN + ZCA (%d images, %d dimensions)\n", n, dim)
			return FitGCNZCA(d, DefaultGCNScale, DefaultZCAEps)
		}
		fmt.Fprintf(warn, "preprocess auto: per-channel normalization (%d images, %d dimensions: ZCA wants at least 10 images per dimension)\n", n, dim)
		return FitChannel(d), nil
	}
	return preprocess.Params{}, fmt.Errorf("trainer: unknown preprocessing %q (want none, channel, zca or auto)", kind)
}

var batchScratch sync.Pool // *[]float32

// ApplyBatch writes the network input of images idx of d, one after
// another, to out (len(idx)·C·H·W values). p must be valid for d's image
// shape (p.Validate). For ZCA the whitening of the whole batch is one matrix
// product (blas32.Gemm, so it uses whatever BLAS the program installed with
// blas32.Use).
func ApplyBatch(p *preprocess.Params, d *dataset.Dataset, idx []int, out []float32) {
	n := d.C * d.H * d.W
	out = out[:len(idx)*n]
	if p.Kind != preprocess.GCNZCA {
		for k, i := range idx {
			p.Apply(d.Image(i), out[k*n:(k+1)*n], nil, d.C)
		}
		return
	}
	bp, _ := batchScratch.Get().(*[]float32)
	if bp == nil {
		bp = new([]float32)
	}
	if cap(*bp) < len(out) {
		*bp = make([]float32, len(out))
	}
	g := (*bp)[:len(out)]
	for k, i := range idx {
		x := g[k*n : (k+1)*n]
		preprocess.GCN(d.Image(i), x, p.GCNScale)
		for j, m := range p.ZCAMean {
			x[j] -= m
		}
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: len(idx), Cols: n, Stride: n, Data: g},
		blas32.General{Rows: n, Cols: n, Stride: n, Data: p.ZCA},
		0, blas32.General{Rows: len(idx), Cols: n, Stride: n, Data: out})
	batchScratch.Put(bp)
}
