//go:build !amd64 || purego

package engine

// No assembly loops on this platform.
const hasAVX2, hasFMA = false, false
