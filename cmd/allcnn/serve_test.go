package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// webDir writes a small dist/web-like tree and returns its path.
func webDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":       "<!doctype html><title>demo</title>",
		"allcnn.js":        "export {};",
		"worker.mjs":       "export {};",
		"allcnn.wasm":      "\x00asm\x01\x00\x00\x00",
		"model.msgpack":    "\x81",
		"demo.css":         "body{}",
		"favicon.svg":      "<svg xmlns='http://www.w3.org/2000/svg'/>",
		".secret":          "no",
		"sub/a.js":         "export {};",
		"docs/index.html":  "<!doctype html><title>docs</title>",
		".git/config":      "no",
		"NOTICE.unknownxt": "?",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestServeHandler(t *testing.T) {
	srv := httptest.NewServer(serveHandler(webDir(t)))
	defer srv.Close()
	// Don't follow redirects: FileServer's own (index.html → ./) are fine
	// but must carry the headers too.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string // prefix; "" to skip
		body         string // substring; "" to skip
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", "<title>demo"},
		{"GET", "/allcnn.js", 200, "text/javascript", "export"},
		{"GET", "/worker.mjs", 200, "text/javascript", "export"},
		{"GET", "/allcnn.wasm", 200, "application/wasm", "asm"},
		{"GET", "/demo.css", 200, "text/css", ""},
		{"GET", "/favicon.svg", 200, "image/svg+xml", ""},
		{"GET", "/model.msgpack", 200, "application/octet-stream", ""},
		{"GET", "/NOTICE.unknownxt", 200, "application/octet-stream", ""},
		{"HEAD", "/allcnn.wasm", 200, "application/wasm", ""},
		{"GET", "/sub/a.js", 200, "text/javascript", ""},
		{"GET", "/docs/", 200, "text/html", "<title>docs"},
		{"GET", "/index.html", 301, "", ""},
		{"GET", "/missing.js", 404, "text/plain", ""},
		{"GET", "/sub/", 404, "text/plain", ""}, // no listing
		{"GET", "/sub", 404, "text/plain", ""},
		{"GET", "/.secret", 404, "", ""},
		{"GET", "/.git/config", 404, "", ""},
		{"GET", "/sub/../.secret", 404, "", ""},
		{"GET", "/../../etc/passwd", 404, "", ""},
		{"POST", "/allcnn.js", 405, "", ""},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		name := tc.method + " " + tc.path
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", name, res.StatusCode, tc.status)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("%s: Content-Type %q, want %q", name, ct, tc.contentType)
		}
		if !strings.Contains(string(body), tc.body) {
			t.Errorf("%s: body %q lacks %q", name, body, tc.body)
		}
		if got := res.Header.Get("Content-Security-Policy"); got != serveCSP {
			t.Errorf("%s: Content-Security-Policy %q, want %q", name, got, serveCSP)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", name, got)
		}
	}
}

// TestServeCSPIsStrict guards the policy itself: what it must allow for
// WebAssembly, and what it must never allow.
func TestServeCSPIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'"} {
		if !strings.Contains(serveCSP, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	for _, never := range []string{"'unsafe-eval'", "'unsafe-inline'", "blob:", "data:", "*"} {
		if strings.Contains(strings.ReplaceAll(serveCSP, "'wasm-unsafe-eval'", ""), never) {
			t.Errorf("CSP allows %s", never)
		}
	}
}

func TestServeMissingDir(t *testing.T) {
	_, errOut, code := runCmd(t, "serve", "-dir", filepath.Join(t.TempDir(), "web"))
	if code != 1 || !strings.Contains(errOut, "make web") {
		t.Errorf("exit %d, stderr %q: want 1 and advice to run 'make web'", code, errOut)
	}
}

// TestServeShutdown starts the server on a free port, fetches a file, and
// stops it the way SIGINT does: by cancelling its context.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, webDir(t), &out) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/allcnn.wasm")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("status %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after its context was cancelled")
	}
	if !strings.Contains(out.String(), "http://"+ln.Addr().String()+"/") {
		t.Errorf("output %q does not give the URL", out.String())
	}
}
