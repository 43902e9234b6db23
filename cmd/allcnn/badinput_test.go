package main

// Bad input at the command line (issue 18): images that predict and viz
// refuse before any output, and requests serve refuses.

import (
	"bufio"
	"bytes"
	"github.com/allcnn/allcnn/dataset"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/allcnn/allcnn/internal/testimage"
)

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestImageBadInput(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	good := filepath.Join(dir, "good.png")
	writeImage(t, good, 8, 8, 1)
	var goodPNG bytes.Buffer
	png.Encode(&goodPNG, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	for _, c := range []struct {
		name  string
		write func(path string) error
		want  []string // words the error must hold, besides the file's path
	}{
		{"PNG declaring 100000×100000", func(p string) error { return os.WriteFile(p, testimage.DeclaredPNG(100000, 100000), 0o644) },
			[]string{"a 100000×100000 image is empty or over 67108864 pixels"}},
		{"PNG declaring 65536×1025", func(p string) error { return os.WriteFile(p, testimage.DeclaredPNG(65536, 1025), 0o644) },
			[]string{"65536×1025 image is empty or over"}},
		{"zero bytes", func(p string) error { return os.WriteFile(p, nil, 0o644) },
			[]string{"not a PNG or JPEG image", "unknown format"}},
		{"text", func(p string) error { return os.WriteFile(p, []byte("a caption, not an image"), 0o644) },
			[]string{"not a PNG or JPEG image", "unknown format"}},
		{"truncated PNG", func(p string) error { return os.WriteFile(p, goodPNG.Bytes()[:goodPNG.Len()/2], 0o644) },
			[]string{"not a PNG or JPEG image"}},
		{"PNG with pixels missing", func(p string) error { return os.WriteFile(p, testimage.DeclaredPNG(8, 8), 0o644) },
			[]string{"not a PNG or JPEG image"}},
		{"JPEG header only", func(p string) error { return os.WriteFile(p, []byte{0xff, 0xd8, 0xff}, 0o644) },
			[]string{"not a PNG or JPEG image"}},
		{"over 64 MiB", func(p string) error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(maxImageBytes + 1) // sparse: nothing is written
		}, []string{"67108865 bytes is too big for an image (at most 67108864)"}},
		{"a folder", func(p string) error { return os.Mkdir(p, 0o755) }, []string{"is a directory"}},
		{"missing", func(string) error { return nil }, []string{"no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.png")
			if err := c.write(bad); err != nil {
				t.Fatal(err)
			}
			want := append(c.want, bad)
			var err error
			used := allocated(func() { _, err = readImage(bad, [3]int{3, 32, 32}) })
			if err == nil {
				t.Fatal("readImage: no error")
			}
			t.Log(err)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("readImage: error %q lacks %q", err, w)
				}
			}
			if used > 1<<20 {
				t.Errorf("readImage allocated %d KiB to refuse the file", used>>10)
			}

			// The commands read every image before any output.
			out, errOut, code := runCmd(t, "predict", "-model", model, good, bad)
			if code == 0 || out != "" {
				t.Errorf("predict: exit %d, stdout %q: want a failure and no output", code, out)
			}
			for _, w := range want {
				if !strings.Contains(errOut, w) {
					t.Errorf("predict: stderr %q lacks %q", errOut, w)
				}
			}
			png := filepath.Join(t.TempDir(), "out.png")
			if _, _, code := runCmd(t, "viz", "-model", model, "-method", "gradient", good, bad, "-o", png); code == 0 {
				t.Error("viz: exit 0")
			}
			if _, err := os.Stat(png); !os.IsNotExist(err) {
				t.Errorf("viz wrote %s (%v)", png, err)
			}
		})
	}
}

// TestReadImageDeepColor locks what the image loader does with the kinds
// that are neither 8-bit RGB nor gray: 16-bit PNGs keep the high byte of
// each sample and Adobe CMYK JPEGs are converted to RGB, as the trainer's
// folder loader does.
func TestReadImageDeepColor(t *testing.T) {
	dir := t.TempDir()
	deep := image.NewRGBA64(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		deep.SetRGBA64(i%4, i/4, color.RGBA64{uint16(i) * 4000, 0xabcd, 0x1234, 0xffff})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, deep); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want func(ch, i int) float32
		tol  float32
	}{
		{"deep.png", b.Bytes(), func(ch, i int) float32 {
			return float32([]uint16{uint16(i) * 4000, 0xabcd, 0x1234}[ch] >> 8)
		}, 0},
		{"print.jpg", testimage.CMYKJPEG(t, 4, 4, [3]uint8{200, 100, 30}), func(ch, _ int) float32 {
			return []float32{200, 100, 30}[ch]
		}, 2},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		px, err := readImage(p, [3]int{3, 4, 4})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for j, v := range px {
			if w := c.want(j/16, j%16); v < w-c.tol || v > w+c.tol {
				t.Fatalf("%s: channel %d pixel %d is %v, want %v", c.name, j/16, j%16, v, w)
			}
		}
	}
}

func TestServeBadInput(t *testing.T) {
	// A secret beside the served folder: no path may reach it.
	root := t.TempDir()
	web := filepath.Join(root, "web")
	if err := os.CopyFS(web, os.DirFS(webDir(t))); err != nil {
		t.Fatal(err)
	}
	const secret = "the secret beside the web folder"
	if err := os.WriteFile(filepath.Join(root, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serveHandler(web))
	defer srv.Close()
	big := strings.Repeat("x", serveMaxBody+1)
	for _, c := range []struct {
		name   string
		method string
		target string    // the request line's target, sent as is
		body   io.Reader // nil: none
		length int64     // Content-Length; -1: chunked
		status int
		want   string // in the response body
	}{
		{"traversal", "GET", "/../secret.txt", nil, 0, 404, ""},
		{"traversal, deeper", "GET", "/../../../../etc/passwd", nil, 0, 404, ""},
		{"traversal, escaped", "GET", "/%2e%2e/secret.txt", nil, 0, 404, ""},
		{"traversal, escaped slash", "GET", "/..%2fsecret.txt", nil, 0, 404, ""},
		{"traversal from a folder", "GET", "/sub/../../secret.txt", nil, 0, 404, ""},
		{"traversal, backslash", "GET", "/..%5csecret.txt", nil, 0, 404, ""},
		{"dot file", "GET", "/.secret", nil, 0, 404, ""},
		{"body over the limit, with its length", "GET", "/allcnn.js", strings.NewReader(big), int64(len(big)), 413,
			"request body too large: this server accepts at most 65536 bytes"},
		{"body over the limit, chunked", "GET", "/allcnn.js", strings.NewReader(big), -1, 413, "at most 65536 bytes"},
		{"body of 1 GiB claimed", "POST", "/allcnn.js", strings.NewReader("x"), 1 << 30, 413, "at most 65536 bytes"},
		{"body at the limit", "GET", "/allcnn.js", strings.NewReader(big[1:]), serveMaxBody, 200, "export"},
		{"small body, chunked", "GET", "/allcnn.js", strings.NewReader("hello"), -1, 200, "export"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var res *http.Response
			if c.length == 1<<30 {
				// A Content-Length the client would not send: write the
				// request by hand.
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				io.WriteString(conn, c.method+" "+c.target+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\nx")
				res, err = http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				req, err := http.NewRequest(c.method, srv.URL, c.body)
				if err != nil {
					t.Fatal(err)
				}
				req.URL.Opaque = c.target // sent as is, not cleaned
				req.ContentLength = c.length
				if res, err = http.DefaultClient.Do(req); err != nil {
					t.Fatal(err)
				}
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Errorf("status %d, want %d (%q)", res.StatusCode, c.status, body)
			}
			if !strings.Contains(string(body), c.want) {
				t.Errorf("body %q lacks %q", body, c.want)
			}
			if strings.Contains(string(body), secret) || strings.Contains(string(body), "root:") {
				t.Errorf("body %q leaks a file outside the served folder", body)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != serveCSP {
				t.Errorf("Content-Security-Policy %q", got)
			}
		})
	}
}

// serve listens on the loopback interface unless told otherwise: the
// default of -addr, and what -help says it is.
func TestServeDefaultAddr(t *testing.T) {
	host, _, err := net.SplitHostPort(serveAddr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("serve's default address %s is not on the loopback interface", serveAddr)
	}
	_, errOut, code := runCmd(t, "serve", "-help")
	if code != 0 || !strings.Contains(errOut, `-addr string`) || !strings.Contains(errOut, `(default "127.0.0.1:8080")`) {
		t.Errorf("serve -help: exit %d, %q: want -addr's default 127.0.0.1:8080", code, errOut)
	}
}

// FuzzReadImage reads its input as an image file at two input sizes. The
// result must not depend on the size asked for: an error naming the file
// for both, or for both the pixels asked for, values in [0, 255]. An
// input that image.DecodeConfig refuses, or that declares more than
// dataset.MaxImagePixels, must be an error.
func FuzzReadImage(f *testing.F) {
	enc := func(im image.Image, asJPEG bool) []byte {
		var b bytes.Buffer
		if asJPEG {
			jpeg.Encode(&b, im, &jpeg.Options{Quality: 90})
		} else {
			png.Encode(&b, im)
		}
		return b.Bytes()
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 37)
	}
	for _, seed := range [][]byte{
		enc(rgba, false), enc(rgba, true),
		enc(image.NewGray(image.Rect(0, 0, 2, 5)), false), enc(image.NewGray(image.Rect(0, 0, 9, 1)), true),
		enc(image.NewRGBA64(image.Rect(0, 0, 2, 2)), false),
		enc(image.NewPaletted(image.Rect(0, 0, 4, 2), color.Palette{color.Black, color.White}), false),
		testimage.CMYKJPEG(f, 2, 3, [3]uint8{10, 20, 30}),
		testimage.DeclaredPNG(100000, 100000), testimage.DeclaredPNG(4, 4),
		{}, []byte("not an image"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "in.img")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, _, cfgErr := image.DecodeConfig(bytes.NewReader(b))
		mustFail := cfgErr != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > dataset.MaxImagePixels/cfg.Height
		var failed []bool
		for _, in := range [][3]int{{3, 8, 8}, {1, 5, 9}} {
			px, err := readImage(p, in)
			failed = append(failed, err != nil)
			if err != nil {
				if px != nil || !strings.Contains(err.Error(), p) {
					t.Fatalf("%v: error %q with %d values: want none, and the error naming %s", in, err, len(px), p)
				}
				continue
			}
			if mustFail {
				t.Fatalf("%v: read an image that DecodeConfig says is %d×%d (%v)", in, cfg.Width, cfg.Height, cfgErr)
			}
			if len(px) != in[0]*in[1]*in[2] {
				t.Fatalf("%v: %d values", in, len(px))
			}
			for i, v := range px {
				if !(v >= 0 && v <= 255) {
					t.Fatalf("%v: value %d is %v, want it in [0, 255]", in, i, v)
				}
			}
		}
		if failed[0] != failed[1] {
			t.Fatalf("read at one size and not at the other: failed %v", failed)
		}
	})
}
