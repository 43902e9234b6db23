package onnx

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/allcnn/allcnn/format"
)

// FuzzImport checks that Import never panics, that every error it returns
// wraps a sentinel, and that whatever it accepts is a valid weight file
// that, exported again (where Export can), imports to the same file.
func FuzzImport(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.onnx"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(base().bytes(f))
	for i, tn := range testNets(f) {
		if tn.name == "every-layer" {
			b, err := Export(seededFile(f, tn.spec, tn.prep, uint64(i+1)))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Import(b, Options{})
		if err != nil {
			if file != nil {
				t.Fatal("a file with an error")
			}
			if !knownErr(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if _, err := format.Marshal(file); err != nil {
			t.Fatalf("imported file does not marshal: %v", err)
		}
		again, err := Export(file)
		if err != nil {
			return // a file Export cannot write (a p-norm pool with ceil, say)
		}
		g, err := Import(again, Options{})
		if err != nil {
			t.Fatalf("exported file does not import: %v", err)
		}
		if !reflect.DeepEqual(g.Arch, file.Arch) || !reflect.DeepEqual(g.Classes, file.Classes) || !reflect.DeepEqual(g.Preprocess, file.Preprocess) {
			t.Fatalf("exported and imported again, the file changes:\n%+v %q %+v\n%+v %q %+v", file.Arch, file.Classes, file.Preprocess, g.Arch, g.Classes, g.Preprocess)
		}
		for i, p := range file.Tensors {
			if q := g.Tensors[i]; q.Name != p.Name || !reflect.DeepEqual(q.Data, p.Data) {
				t.Fatalf("tensor %q changes", p.Name)
			}
		}
	})
}
