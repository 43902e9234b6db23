package main

// allcnn serve: the browser demo (dist/web, built by `make web`) over HTTP,
// with the headers that the browser tests rely on.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serveCSP is the Content-Security-Policy of every response: the tightest
// that the demo and the JS package work under. Scripts, workers, fetches
// (allcnn.wasm, the weight file), styles and images come from this origin
// only; 'wasm-unsafe-eval' allows compiling WebAssembly and nothing else
// (no eval, no new Function); no inline script or style, no plugins, no
// <base>, no forms, no framing.
const serveCSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
	"connect-src 'self'; img-src 'self'; style-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveTypes are the MIME types of the files dist/web holds, fixed here
// rather than read from the system's mime.types, which differ between
// machines (application/javascript, or no .wasm at all). Streaming
// WebAssembly compilation requires application/wasm; module scripts and
// workers require a JavaScript type under X-Content-Type-Options: nosniff.
var serveTypes = map[string]string{
	".html":    "text/html; charset=utf-8",
	".js":      "text/javascript; charset=utf-8",
	".mjs":     "text/javascript; charset=utf-8",
	".css":     "text/css; charset=utf-8",
	".wasm":    "application/wasm",
	".json":    "application/json",
	".svg":     "image/svg+xml",
	".png":     "image/png",
	".jpg":     "image/jpeg",
	".jpeg":    "image/jpeg",
	".ts":      "text/plain; charset=utf-8",
	".msgpack": "application/octet-stream",
	".txt":     "text/plain; charset=utf-8",
}

// serveAddr is serve's default address: the loopback interface only, so
// that the demo is not offered to the network unless -addr says so.
const serveAddr = "127.0.0.1:8080"

// serveMaxBody bounds a request's body. The demo only fetches files, with
// GET requests that carry none; a larger body is refused with 413 before
// anything else is looked at, however it is sent (Content-Length or
// chunked).
const serveMaxBody = 64 << 10

const serveSynopsis = `serve [-addr ` + serveAddr + `] [-dir dist/web]

Serves the browser demo and the JS package that 'make web' builds into
dist/web, for trying them out and for the browser tests. Every response
carries a strict Content-Security-Policy:
  ` + serveCSP + `
so the page proves that allcnn.js needs no eval and no cross-origin isolation.
Directory listings and dot files are not served, and requests with a body
of more than 64 KiB are refused (413). It listens on the loopback interface
only unless -addr names another (-addr :8080 for every interface). Ctrl-C
stops the server, letting requests in flight finish.
`

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := flags("serve", serveSynopsis, stderr)
	addr := fs.String("addr", serveAddr, "address to listen on (port 0: any free port; host empty: every interface)")
	dir := fs.String("dir", "dist/web", "directory to serve")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return fmt.Errorf("serve: no directory %s: run 'make web' to build the demo there, or pass -dir DIR", *dir)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, ln, *dir, stdout)
}

// serve serves dir on ln until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, dir string, stdout io.Writer) error {
	srv := &http.Server{
		Handler:           serveHandler(dir),
		ReadHeaderTimeout: 10 * time.Second,
	}
	// The browser tests read the URL from this line.
	fmt.Fprintf(stdout, "serving %s at http://%s/ (Ctrl-C stops)\n", dir, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("serve: shutting down: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// serveHandler serves the files of dir with the headers of every response
// (serveCSP, nosniff, no caching) and the MIME types of serveTypes. A
// directory is served by its index.html; a directory without one, a dot
// file and a missing file are 404s. A request body over serveMaxBody is a
// 413, one that does not read a 400.
func serveHandler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", serveCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if msg, code := readBody(w, r); code != 0 {
			http.Error(w, msg, code)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if strings.Contains(p, "/.") {
			http.NotFound(w, r)
			return
		}
		name := filepath.Join(dir, filepath.FromSlash(p))
		if st, err := os.Stat(name); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(name, "index.html")); err != nil {
				http.NotFound(w, r)
				return
			}
			name = filepath.Join(name, "index.html")
		}
		if t, ok := serveTypes[strings.ToLower(filepath.Ext(name))]; ok {
			h.Set("Content-Type", t)
		} else {
			h.Set("Content-Type", "application/octet-stream")
		}
		files.ServeHTTP(w, r)
	})
}

// readBody reads and drops r's body, at most serveMaxBody bytes of it, and
// returns the error message and status to answer with when the body is
// larger (413) or does not read (400); code 0 when all is well. A declared
// Content-Length over the limit is refused without reading.
func readBody(w http.ResponseWriter, r *http.Request) (msg string, code int) {
	tooLarge := fmt.Sprintf("request body too large: this server accepts at most %d bytes", serveMaxBody)
	if r.ContentLength > serveMaxBody {
		return tooLarge, http.StatusRequestEntityTooLarge
	}
	_, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, serveMaxBody))
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return tooLarge, http.StatusRequestEntityTooLarge
	case err != nil:
		return "reading the request body: " + err.Error(), http.StatusBadRequest
	}
	return "", 0
}
