// Package native installs the fastest float32 matrix multiply this build has
// behind gonum's blas32 seam, so that code calling
// blas32.Implementation().Sgemm (package kernel) runs on OpenBLAS or the
// project's own AVX-512 or AVX2 Sgemm in a native build, and on gonum's pure
// Go everywhere else.
//
// Which implementation a build gets:
//
//   - cgo enabled (the default for a native build), no tags: OpenBLAS's
//     cblas_sgemm through cgo, linked with -lopenblas. On Debian and Ubuntu
//     that needs the libopenblas-dev package at build time and an OpenBLAS
//     runtime library (libopenblas0) where the program runs. For an OpenBLAS
//     outside the default paths, set CGO_CFLAGS (for cblas.h) and CGO_LDFLAGS.
//   - CGO_ENABLED=0, or -tags noopenblas: gonum's pure-Go implementation.
//   - Either way, on an x86-64 processor with AVX-512: package avx512's
//     Sgemm for every product at least MinColumns wide (for every product
//     without OpenBLAS), unless ALLCNN_AVX512=0. It is about twice as fast
//     as OpenBLAS's AVX2 kernels on the convolutions' products.
//   - Otherwise, on one with AVX2 and FMA (or with ALLCNN_AVX512=0):
//     package avx2's Sgemm in the same way, unless ALLCNN_AVX2=0. It keeps
//     pace with OpenBLAS's Haswell kernels on the large products and beats
//     them on the small ones of a Winograd convolution, which it runs
//     without a cgo call each.
//
// Only Sgemm is replaced: every other routine of blas.Float32 is gonum's,
// because Sgemm is the only one the convolutions spend their time in.
// Importing the package alone changes nothing. Programs that run package
// kernel call Setup once, early in main: it installs the BLAS with one thread
// per product and lets the kernel spread its work over the cores. Use
// installs the BLAS alone, with OpenBLAS's own threads, for programs that
// call Sgemm themselves.
package native

import (
	"fmt"
	"os"
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/native/avx2"
	"github.com/allcnn/allcnn/native/avx512"
)

// Info says which implementation Use installed.
type Info struct {
	// Backend is "openblas 0.3.21" (the OpenBLAS version linked in) or
	// "gonum (pure Go)".
	Backend string
	// Threads is how many threads one Sgemm call may use: OpenBLAS's thread
	// count, or GOMAXPROCS for gonum, which splits a product over that many
	// goroutines.
	Threads int
	// Config is OpenBLAS's build configuration as openblas_get_config reports
	// it, such as "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell
	// MAX_THREADS=64"; it names the CPU kernels in use. Empty for gonum.
	Config string
	// Sgemm names the project's own Sgemm that products run on: "avx512"
	// (package avx512), "avx2" (package avx2), or "" for none. It takes
	// all of them in a build without OpenBLAS, and those at least
	// MinColumns wide otherwise (OpenBLAS keeps the narrow ones).
	Sgemm string
	// Kernel is what Setup returns for building nets: its goroutines per
	// layer and the BLAS it installed. Use leaves it zero.
	Kernel kernel.Options
}

// String returns a line for logs: the backend, the thread count and, for
// OpenBLAS, its configuration.
func (i Info) String() string {
	unit := "threads"
	if i.Threads == 1 {
		unit = "thread"
	}
	backend := i.Backend
	if i.Sgemm != "" {
		backend = i.Sgemm + " sgemm + " + backend
	}
	s := fmt.Sprintf("%s, %d %s", backend, i.Threads, unit)
	if i.Config != "" {
		s += " (" + i.Config + ")"
	}
	return s
}

// Use installs the fastest implementation this build has with blas32.Use and
// returns what it installed. On a processor with AVX-512 that is package
// avx512's Sgemm (for the products wide enough for it when OpenBLAS is
// there), unless the environment variable ALLCNN_AVX512 is 0; on one with
// AVX2 and FMA (or with ALLCNN_AVX512=0), package avx2's, unless
// ALLCNN_AVX2 is 0. If threads > 0
// it also sets OpenBLAS's thread count (openblas_set_num_threads); threads
// <= 0 keeps the current count. The pure-Go backend ignores threads: its
// parallelism follows GOMAXPROCS.
//
// Call Use before any goroutine multiplies matrices, typically early in main:
// neither blas32.Use nor OpenBLAS's thread count is safe to change while a
// product runs. When the caller already runs products on several goroutines,
// pass threads = 1 so that goroutines × OpenBLAS threads does not exceed the
// cores.
func Use(threads int) Info { return use(threads, Config{}) }

// use is Use, without the Sgemm kernels that c turns off.
func use(threads int, c Config) Info {
	if threads > 0 {
		setThreads(threads)
	}
	impl, backend, config := implementation()
	var own blas.Float32
	sgemm := ""
	switch {
	case !c.NoAVX512 && avx512.Available() && os.Getenv("ALLCNN_AVX512") != "0":
		own, sgemm = avx512.Implementation{}, "avx512"
	case !c.NoAVX2 && avx2.Available() && os.Getenv("ALLCNN_AVX2") != "0":
		own, sgemm = avx2.Implementation{}, "avx2"
	}
	if own != nil {
		_, pureGo := impl.(gonum.Implementation)
		impl = routed{Float32: impl, own: own, all: pureGo}
	}
	blas32.Use(impl)
	return Info{Backend: backend, Threads: Threads(), Config: config, Sgemm: sgemm}
}

// MinColumns is the narrowest product that goes to the project's own Sgemm
// where OpenBLAS is there to take the narrower ones. On those most of each
// register tile is padding: against OpenBLAS's AVX2 kernels, the AVX-512
// Sgemm was 1.4–2× slower on 1 to 4 columns, within 15% at 9 and 12, and
// 1.5–1.8× faster at 15 (192×n×192 and 96×n×864, single-threaded); the
// AVX2 one 1.5× slower at 9 columns and 1.3× faster at 16 (192×n×192).
const MinColumns = 16

// routed sends products to own, the project's Sgemm: all of them, or, when
// the embedded implementation is OpenBLAS, those at least MinColumns wide.
type routed struct {
	blas.Float32
	own blas.Float32
	all bool
}

func (r routed) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if r.all || n >= MinColumns {
		r.own.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	r.Float32.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Threads returns how many threads one Sgemm call of this build's backend may
// use. Unless changed by Use, that is runtime.NumCPU() for OpenBLAS (or the
// OPENBLAS_NUM_THREADS environment variable, if set) and GOMAXPROCS for gonum.
func Threads() int {
	return threads()
}

// Config says what Setup prepares.
type Config struct {
	// Threads is how many goroutines the kernel spreads each layer's work
	// over; below 1, GOMAXPROCS.
	Threads int
	// NoAVX512 keeps products off package avx512's Sgemm where the CPU has
	// AVX-512, as the environment variable ALLCNN_AVX512=0 does: they run
	// as on a processor with AVX2 alone (package avx2's Sgemm, or OpenBLAS
	// or gonum where NoAVX2 is set too). For comparisons.
	NoAVX512 bool
	// NoAVX2 keeps products off package avx2's Sgemm, as ALLCNN_AVX2=0
	// does: on OpenBLAS (or gonum) where package avx512's does not run.
	NoAVX2 bool
}

// Setup prepares a native build for package kernel: it installs the BLAS as
// Use does, with one thread per product, and returns in Info.Kernel the
// options that nets should be built with (kernel.Options.Build): that BLAS,
// and c.Threads goroutines per layer. The kernel splits a batch by
// examples and a single example by product columns, so the cores never wait
// on a BLAS thread pool, whose idle threads would otherwise spin against
// the kernel's own goroutines. The returned Info's Threads is the kernel's
// goroutine count.
func (c Config) Setup() Info {
	info := use(1, c)
	threads := c.Threads
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	info.Threads = threads
	info.Kernel = kernel.Options{Threads: threads, BLAS: blas32.Implementation()}
	return info
}

// Setup is Config{Threads: threads}.Setup().
func Setup(threads int) Info { return Config{Threads: threads}.Setup() }
