package format

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// onlyEntry checks that dir holds exactly one entry, name, so no temporary
// file is left behind.
func onlyEntry(t *testing.T, dir, name string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Name() != name {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %q, want only %q", names, name)
	}
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.allcnn")
	for _, f := range []*File{testFile(t, F32), zcaFile(t, F16)} { // the second replaces the first
		if err := WriteFile(path, f); err != nil {
			t.Fatal(err)
		}
		g, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffFile(f, g); d != "" {
			t.Fatal(d)
		}
		onlyEntry(t, dir, "model.allcnn")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o444 != 0o444 {
		t.Errorf("mode %v: a weight file should be readable by all", fi.Mode())
	}
}

// A write that fails, at any step, leaves the old file whole and no
// temporary file behind.
func TestWriteFileFailures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.allcnn")
	old := testFile(t, F32)
	if err := WriteFile(path, old); err != nil {
		t.Fatal(err)
	}
	oldBytes := mustMarshal(t, old)
	intact := func(t *testing.T) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, oldBytes) {
			t.Fatalf("old file changed (%v)", err)
		}
		onlyEntry(t, dir, "model.allcnn")
	}

	t.Run("invalid file", func(t *testing.T) {
		f := testFile(t, F32)
		f.Tensors = f.Tensors[1:]
		if err := WriteFile(path, f); !errors.Is(err, ErrMissing) {
			t.Fatalf("WriteFile = %v, want ErrMissing", err)
		}
		intact(t)
	})
	t.Run("rename fails", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		// Renaming a file over a non-empty directory fails.
		if err := WriteFile(sub, testFile(t, F16)); err == nil {
			t.Fatal("WriteFile over a directory succeeded")
		}
		if es, _ := os.ReadDir(dir); len(es) != 2 {
			t.Fatalf("%d entries after a failed rename, want 2", len(es))
		}
		os.RemoveAll(sub)
		intact(t)
	})
	t.Run("no directory", func(t *testing.T) {
		if err := WriteFile(filepath.Join(dir, "missing", "m.allcnn"), old); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("WriteFile = %v, want ErrNotExist", err)
		}
		intact(t)
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if err := WriteFile(path, testFile(t, F16)); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("WriteFile = %v, want ErrPermission", err)
		}
		intact(t)
	})
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, "bad")
	if err := os.WriteFile(path, []byte("not msgpack"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); !errors.Is(err, ErrMagic) {
		t.Fatalf("text file: %v", err)
	}
	// A sparse file over the limit is refused from its size, unread.
	if err := os.Truncate(path, MaxFileSize+1); err != nil {
		t.Skip(err)
	}
	if _, err := ReadFile(path); !errors.Is(err, ErrLimit) {
		t.Fatalf("oversized file: %v", err)
	}
}
