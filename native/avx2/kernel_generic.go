package avx2

import "github.com/allcnn/allcnn/native/internal/blocked"

// The micro-kernels and the transpose in Go, with the arguments and results
// of the assembly: the reference that the tests hold it to, and what they
// run the blocking and packing on where it cannot run.
var (
	kernelGo     = blocked.GoKernel(mr, nr)
	kernelGo8    = blocked.GoKernel(mr, 8)
	transpose8Go = blocked.GoTranspose(8)
)
