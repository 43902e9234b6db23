//go:build !cgo || noopenblas

package native

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func implementation() (impl blas.Float32, backend, config string) {
	return gonum.Implementation{}, "gonum (pure Go)", ""
}

// setThreads does nothing: gonum's Sgemm uses up to GOMAXPROCS goroutines,
// and GOMAXPROCS belongs to the whole program.
func setThreads(int) {}

func threads() int {
	return runtime.GOMAXPROCS(0)
}
