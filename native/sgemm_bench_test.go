package native_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/allcnn/allcnn/native"
	"github.com/allcnn/allcnn/native/avx2"
	"github.com/allcnn/allcnn/native/avx512"
)

// BenchmarkSgemmShapes times single-threaded products of the shapes that
// All-CNN-C's convolutions multiply at batch 64, on each backend this build
// has: the OpenBLAS (or gonum) that Use installs (with ALLCNN_AVX512=0
// ALLCNN_AVX2=0, OpenBLAS alone), and the AVX-512 and AVX2 Sgemms.
func BenchmarkSgemmShapes(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  blas.Transpose
		m, n, k int
	}{
		{"wino-conv2-fwd", blas.NoTrans, blas.NoTrans, 96, 512, 96},
		{"wino-conv5-fwd", blas.NoTrans, blas.NoTrans, 192, 512, 192},
		{"wino-conv5-dx", blas.Trans, blas.NoTrans, 192, 512, 192},
		{"wino-conv5-dw", blas.NoTrans, blas.Trans, 192, 192, 512},
		{"conv3-fwd", blas.NoTrans, blas.NoTrans, 96, 256, 864},
		{"conv3-dx", blas.Trans, blas.NoTrans, 864, 256, 96},
		{"conv3-dw", blas.NoTrans, blas.Trans, 96, 864, 256},
		{"conv6-fwd", blas.NoTrans, blas.NoTrans, 192, 64, 1728},
		{"b1-wino-small", blas.NoTrans, blas.NoTrans, 192, 16, 192},
		{"b1-wino-9", blas.NoTrans, blas.NoTrans, 192, 9, 192},
	}
	info := native.Use(1)
	backends := []struct {
		name string
		impl blas.Float32
	}{{"installed", blas32.Implementation()}}
	if avx512.Available() {
		backends = append(backends, struct {
			name string
			impl blas.Float32
		}{"avx512", avx512.Implementation{}})
	}
	if avx2.Available() {
		backends = append(backends, struct {
			name string
			impl blas.Float32
		}{"avx2", avx2.Implementation{}})
	}
	b.Logf("installed: %v", info)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range shapes {
		in := newSgemmCase(rng, s.tA, s.tB, s.m, s.n, s.k, 0, false)
		for _, be := range backends {
			b.Run(fmt.Sprintf("%s/%s", s.name, be.name), func(b *testing.B) {
				for b.Loop() {
					be.impl.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, in.a, in.lda, in.b, in.ldb, 0, in.c, in.ldc)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
