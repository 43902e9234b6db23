package dataset

// Folder data sets read as a stream from a gzip tar: nothing is unpacked to
// disk, and every entry is treated as hostile.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// streamTar queues the images of a gzip tar holding [ROOT/]CLASS/NAME and
// returns the class folders found (name → path for messages). ROOT is that
// of the first image; every other image must share it.
func streamTar(file string, dec *decoder) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrData, file, err)
	}
	tr := tar.NewReader(gz)
	classes := map[string]string{}
	dirs := map[string]bool{}
	root, rooted := "", false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrData, file, err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // metadata of the whole archive (git archive writes one)
		}
		// Nothing is unpacked, but an entry that could land outside the
		// archive's folder if it were is not part of a data set.
		if why := escapes(hdr.Name); why != "" {
			return nil, fmt.Errorf(`%w: %s: entry %q %s: a data set's entries must be relative paths without ".."`, ErrData, file, hdr.Name, why)
		}
		name := path.Clean(hdr.Name)
		where := file + ": " + name
		// Every folder on the way counts, listed in the tar or not.
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
		if hiddenPath(name) {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			dirs[name] = true
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("%w: %s: not a regular file or folder (tar type %q)", ErrData, where, hdr.Typeflag)
		}
		cdir, base := path.Split(name)
		cdir = strings.TrimSuffix(cdir, "/")
		r, class := path.Split(cdir)
		if class == "" {
			return nil, fmt.Errorf("%w: %s: a file outside the class folders", ErrData, where)
		}
		if !rooted {
			root, rooted = r, true
		} else if r != root {
			return nil, fmt.Errorf("%w: %s: not in a class folder under %q like the first image", ErrData, where, root)
		}
		if hdr.Size > maxImageBytes {
			return nil, fmt.Errorf("%w: %s: %d bytes is too big for an image", ErrData, where, hdr.Size)
		}
		data, err := readEntry(tr, hdr.Size)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrData, where, err)
		}
		classes[class] = file + ": " + cdir
		dec.add(&imageFile{path: where, class: class, name: base, data: data})
	}
	// Folders beside the class folders that hold no image are empty classes.
	for d := range dirs {
		r, class := path.Split(d)
		if rooted && r == root && !hiddenPath(d) {
			if _, ok := classes[class]; !ok {
				classes[class] = file + ": " + d
			}
		}
	}
	return classes, nil
}

// escapes says why a tar entry's name could lead out of the archive's
// folder, as a predicate ("is an absolute path"): it is absolute (from the
// root or a Windows drive) or has a ".." element, even one that stays
// inside, with "/" or a backslash as the separator. "" means neither.
func escapes(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(name, "/") {
		return "is an absolute path"
	}
	if len(name) >= 2 && name[1] == ':' && 'a' <= name[0]|0x20 && name[0]|0x20 <= 'z' {
		return "is a path on a Windows drive"
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return `has a ".." element`
		}
	}
	return ""
}

// readEntry reads the size bytes of a tar entry. Beyond the first MiB it
// allocates as the data arrives, doubling, so that a header claiming more
// than the archive holds costs no more memory than the archive.
func readEntry(r io.Reader, size int64) ([]byte, error) {
	data := make([]byte, min(size, 1<<20))
	read := 0
	for {
		n, err := io.ReadFull(r, data[read:])
		read += n
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if int64(read) == size {
			return data, nil
		}
		data = append(data, make([]byte, min(size-int64(read), int64(read)))...)
	}
}

func hiddenPath(name string) bool {
	for _, c := range strings.Split(name, "/") {
		if hidden(c) {
			return true
		}
	}
	return false
}
