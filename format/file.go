package format

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/allcnn/allcnn/internal/atomicfile"
)

// ReadFile reads and validates the weight file at path.
func ReadFile(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	defer fd.Close()
	if fi, err := fd.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("format: %s: %w: %d bytes (at most %d)", path, ErrLimit, fi.Size(), MaxFileSize)
	}
	f, err := decode(fd, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("format: %s: %w", path, err)
	}
	return f, nil
}

// WriteFile validates f and writes it to path atomically: to a temporary file
// in the same directory, synced, then renamed over path, then the directory
// synced. Whatever fails, path holds either its old content or the whole new
// file, never part of one. The file's mode is 0644 (less the umask, where the
// system applies one).
func WriteFile(path string, f *File) error {
	var buf bytes.Buffer
	if err := encode(&buf, f); err != nil {
		return fmt.Errorf("format: %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}
