package native_test

import (
	"fmt"
	"log"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/allcnn/allcnn/native"
)

// Install the fastest GEMM once, early in main; every blas32 call after that,
// such as kernel's convolutions, runs on it.
func ExampleUse() {
	info := native.Use(0) // 0 keeps the default thread count
	log.Printf("blas: %v", info)

	// C = A·B with A 2×3 and B 3×2, row-major.
	a := blas32.General{Rows: 2, Cols: 3, Stride: 3, Data: []float32{1, 2, 3, 4, 5, 6}}
	b := blas32.General{Rows: 3, Cols: 2, Stride: 2, Data: []float32{1, 0, 0, 1, 1, 1}}
	c := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float32, 4)}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c)
	fmt.Println(c.Data)
	// Output: [4 5 10 11]
}

func ExampleInfo_String() {
	fmt.Println(native.Info{Backend: "gonum (pure Go)", Threads: 2})
	fmt.Println(native.Info{Backend: "openblas 0.3.21", Threads: 1, Config: "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"})
	// Output:
	// gonum (pure Go), 2 threads
	// openblas 0.3.21, 1 thread (OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64)
}
