//go:build cgo && !noopenblas

package native_test

// wantBackend is how Info.Backend starts in this build.
const wantBackend = "openblas"
