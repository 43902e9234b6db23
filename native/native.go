// Package native installs the fastest float32 matrix multiply this build has
// behind gonum's blas32 seam, so that code calling
// blas32.Implementation().Sgemm (package kernel) runs on OpenBLAS or the
// AVX-512 Sgemm of package avx512 in a native build, and on gonum's pure Go
// everywhere else.
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
//     Sgemm for every product at least avx512.MinColumns wide (for every
//     product without OpenBLAS), unless ALLCNN_AVX512=0. It is about twice
//     as fast as OpenBLAS's AVX2 kernels on the convolutions' products.
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
	// AVX512 reports whether products run on package avx512's Sgemm: all
	// of them in a build without OpenBLAS, and those at least
	// avx512.MinColumns wide otherwise (OpenBLAS keeps the narrow ones).
	AVX512 bool
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
	if i.AVX512 {
		backend = "avx512 sgemm + " + backend
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
// there), unless the environment variable ALLCNN_AVX512 is 0. If threads > 0
// it also sets OpenBLAS's thread count (openblas_set_num_threads); threads
// <= 0 keeps the current count. The pure-Go backend ignores threads: its
// parallelism follows GOMAXPROCS.
//
// Call Use before any goroutine multiplies matrices, typically early in main:
// neither blas32.Use nor OpenBLAS's thread count is safe to change while a
// product runs. When the caller already runs products on several goroutines,
// pass threads = 1 so that goroutines × OpenBLAS threads does not exceed the
// cores.
func Use(threads int) Info { return use(threads, true) }

// use is Use, with package avx512's Sgemm only if avx (and the CPU has it).
func use(threads int, avx bool) Info {
	if threads > 0 {
		setThreads(threads)
	}
	impl, backend, config := implementation()
	avx = avx && avx512.Available() && os.Getenv("ALLCNN_AVX512") != "0"
	if avx {
		_, pureGo := impl.(gonum.Implementation)
		impl = routed{Float32: impl, all: pureGo}
	}
	blas32.Use(impl)
	return Info{Backend: backend, Threads: Threads(), Config: config, AVX512: avx}
}

// routed sends products to package avx512's Sgemm: all of them, or, when
// the embedded implementation is OpenBLAS, those at least avx512.MinColumns
// wide. On narrower ones most of each tile is padding: OpenBLAS's AVX2
// kernels were 1.4–2× faster on 1 to 4 columns, within 15% at 9 and 12, and
// 1.5–1.8× slower at 15 (192×n×192 and 96×n×864, single-threaded).
type routed struct {
	blas.Float32
	all bool
}

func (r routed) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if r.all || n >= avx512.MinColumns {
		avx512.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
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
	// NoAVX512 keeps every product on OpenBLAS (or gonum) where the CPU
	// has AVX-512, as the environment variable ALLCNN_AVX512=0 does: for
	// comparisons.
	NoAVX512 bool
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
	info := use(1, !c.NoAVX512)
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
