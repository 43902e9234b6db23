package avx512

import (
	"testing"

	"github.com/allcnn/allcnn/native/internal/blockedtest"
)

// TestPackage runs the tests of every micro-kernel package
// (native/internal/blockedtest) on this one's.
func TestPackage(t *testing.T) {
	blockedtest.Suite(t, blockedtest.Package{
		Available: Available(),
		Sgemm:     Implementation{}.Sgemm,
		Go:        newDriver(kernelGo, kernelGo16, transpose16Go).Multiply,
		Kernels: []blockedtest.KernelPair{
			{Name: "12×32", MR: mr, N: nr, Asm: kernel, Ref: kernelGo},
			{Name: "12×16", MR: mr, N: 16, Asm: kernel16, Ref: kernelGo16},
		},
		T: 16, Transpose: transpose16, TransposeGo: transpose16Go,
	})
}
