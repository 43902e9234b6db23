//go:build amd64 && !purego

package engine

import (
	"os"

	"golang.org/x/sys/cpu"
)

// The CPU's features, read once: which assembly loops may run. As for the
// products (package native), ALLCNN_AVX512=0 runs as on a CPU with AVX2
// alone.
var (
	hasAVX2, hasFMA = cpu.X86.HasAVX2, cpu.X86.HasFMA
	hasAVX512       = cpu.X86.HasAVX512F && os.Getenv("ALLCNN_AVX512") != "0"
)
