package avx2

import (
	"testing"

	"github.com/allcnn/allcnn/internal/sgemmtest"
	"github.com/allcnn/allcnn/native/internal/blockedtest"
)

// TestSgemm holds Sgemm (the assembly kernel) to the project's contract.
func TestSgemm(t *testing.T) {
	if !Available() {
		t.Skip("no AVX2 and FMA: Sgemm is gonum's")
	}
	testSgemm(t, Implementation{}.Sgemm)
}

// TestSgemmGoKernel runs the blocking and packing on the Go micro-kernel, so
// that they are tested on every platform.
func TestSgemmGoKernel(t *testing.T) {
	testSgemm(t, goKernels)
}

// testSgemm holds a product to the project's Sgemm contract
// (internal/sgemmtest).
func testSgemm(t *testing.T, f sgemmtest.Func) {
	worst := sgemmtest.Check(t, f, sgemmtest.Cases(sgemmtest.Sizes, false))
	t.Logf("largest error %.3f of the bound", worst)
}

// TestSgemmConcurrent runs products on several goroutines at once: each must
// get its own packing buffers.
func TestSgemmConcurrent(t *testing.T) {
	if !Available() {
		t.Skip("no AVX2 and FMA: Sgemm is gonum's")
	}
	sgemmtest.Concurrent(t, Implementation{}.Sgemm, 8, 5)
}

// TestKernel compares the assembly micro-kernels with the Go ones.
func TestKernel(t *testing.T) {
	if !Available() {
		t.Skip("no AVX2")
	}
	blockedtest.Kernel(t, "6×16", mr, nr, kernel, kernelGo)
	blockedtest.Kernel(t, "6×8", mr, 8, kernel8, kernelGo8)
}

func TestTranspose8(t *testing.T) {
	blockedtest.Transpose(t, "Go", 8, transpose8Go)
	if Available() {
		blockedtest.Transpose(t, "assembly", 8, transpose8)
	}
}

// TestSgemmRandomShapes runs products of random sizes, strides, transposes
// and scales on the assembly kernels where they run and on the Go ones
// everywhere.
func TestSgemmRandomShapes(t *testing.T) {
	fs := []sgemmtest.Func{goKernels}
	if Available() {
		fs = append(fs, Implementation{}.Sgemm)
	}
	blockedtest.RandomShapes(t, fs...)
}

// TestGenerated checks that kernel_amd64.s is what gen.go writes now.
func TestGenerated(t *testing.T) { blockedtest.Generated(t, "kernel_amd64.s") }

// goKernels is the product on the Go micro-kernels.
var goKernels sgemmtest.Func = newDriver(kernelGo, kernelGo8, transpose8Go).Multiply
