package avx2

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
		Go:        newDriver(kernelGo, kernelGo8, transpose8Go).Multiply,
		Kernels: []blockedtest.KernelPair{
			{Name: "6×16", MR: mr, N: nr, Asm: kernel, Ref: kernelGo},
			{Name: "6×8", MR: mr, N: 8, Asm: kernel8, Ref: kernelGo8},
		},
		T: 8, Transpose: transpose8, TransposeGo: transpose8Go,
	})
}
