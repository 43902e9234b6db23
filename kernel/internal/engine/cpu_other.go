//go:build !amd64 || purego

package engine

// No assembly loops on this platform.
const hasAVX2, hasFMA, hasAVX512 = false, false, false
