//go:build amd64 && !purego

package engine

import "golang.org/x/sys/cpu"

// The CPU's features, read once: which assembly loops may run.
var hasAVX2, hasFMA = cpu.X86.HasAVX2, cpu.X86.HasFMA
