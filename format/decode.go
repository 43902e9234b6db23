package format

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/allcnn/allcnn/kernel"
)

// Unmarshal parses and validates a weight file. The result does not alias b.
//
// Unmarshal does not use msgpack's reflection decoder, which allocates from
// length prefixes before reading the data (up to 4 GiB for one bin header,
// 10⁶ slice or map elements for one array or map header); it walks the
// structure with the decoder's low-level methods and checks every length
// against the bytes that remain first.
func Unmarshal(b []byte) (*File, error) {
	f, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return f, nil
}

func unmarshal(b []byte) (*File, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrLimit, len(b), MaxFileSize)
	}
	payload, sum, err := openEnvelope(b)
	if err != nil {
		return nil, err
	}
	if got := crc32.Checksum(payload, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: payload CRC-32C is %08x, file says %08x", ErrChecksum, got, sum)
	}
	f, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Decode reads r to its end and parses the weight file, like Unmarshal. It
// reads at most MaxFileSize+1 bytes: a longer stream is an ErrLimit error.
func Decode(r io.Reader) (*File, error) {
	f, err := decode(r, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return f, nil
}

func decode(r io.Reader, limit int64) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrLimit, limit)
	}
	return unmarshal(b)
}

// openEnvelope checks the envelope [Magic, Version, payload, crc] and
// returns the payload and the checksum the file gives for it.
func openEnvelope(b []byte) (payload []byte, sum uint32, err error) {
	r := newReader(b)
	if c, err := r.peek(); err != nil {
		return nil, 0, err
	} else if !isArray(c) {
		return nil, 0, ErrMagic
	}
	n, err := r.arrayLen(math.MaxInt32)
	if err != nil {
		return nil, 0, err
	}
	if n < 2 {
		return nil, 0, ErrMagic
	}
	magic, err := r.bytes(isStr, len(Magic))
	if errors.Is(err, ErrTruncated) {
		return nil, 0, err
	} else if err != nil || string(magic) != Magic {
		return nil, 0, ErrMagic
	}
	v, err := r.uint(math.MaxUint32)
	if errors.Is(err, ErrTruncated) {
		return nil, 0, err
	} else if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrVersion, err)
	}
	if v != Version {
		return nil, 0, fmt.Errorf("%w %d (this reader knows version %d)", ErrVersion, v, Version)
	}
	if n != 4 {
		return nil, 0, fmt.Errorf("%w: envelope of %d elements, want 4", ErrMalformed, n)
	}
	if payload, err = r.bytes(isBin, MaxFileSize); err != nil {
		return nil, 0, fmt.Errorf("payload: %w", err)
	}
	s, err := r.uint(math.MaxUint32)
	if err != nil {
		return nil, 0, fmt.Errorf("checksum: %w", err)
	}
	if r.left() != 0 {
		return nil, 0, fmt.Errorf("%w: %d bytes after the envelope", ErrTrailing, r.left())
	}
	return payload, uint32(s), nil
}

// decodePayload parses the payload map. It checks the structure and the
// limits; Validate checks the meaning.
func decodePayload(b []byte) (*File, error) {
	r := newReader(b)
	f := &File{}
	err := r.object([]string{"arch", "classes", "preprocess", "tensors", "meta"}, 5, func(key string) error {
		switch key {
		case "arch":
			return r.spec(&f.Arch)
		case "classes":
			n, err := r.arrayLen(kernel.MaxChannels)
			if err != nil {
				return err
			}
			f.Classes = make([]string, n)
			for i := range f.Classes {
				if f.Classes[i], err = r.str(MaxString); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		case "preprocess":
			return r.preprocess(f)
		case "tensors":
			n, err := r.arrayLen(MaxTensors)
			if err != nil {
				return err
			}
			f.Tensors = make([]Tensor, n)
			for i := range f.Tensors {
				t := &f.Tensors[i]
				if err := r.tensor(&t.Name, &t.Shape, &t.DType, &t.Data); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		case "meta":
			n, err := r.mapLen(MaxMeta)
			if err != nil {
				return err
			}
			f.Meta = make(map[string]string, n)
			for range n {
				k, err := r.str(MaxString)
				if err != nil {
					return err
				}
				if _, dup := f.Meta[k]; dup {
					return fmt.Errorf("%q: %w", k, ErrDuplicate)
				}
				if f.Meta[k], err = r.str(MaxString); err != nil {
					return fmt.Errorf("%q: %w", k, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the payload map", ErrTrailing, r.left())
	}
	return f, nil
}
