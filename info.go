package allcnn

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// Info describes a loaded model.
type Info struct {
	Name       string   // the architecture's name
	Input      [3]int   // channels, height, width of the network input
	Classes    []string // one name per output
	Preprocess string   // preprocess.None, Channel or GCNZCA
	// Place and Source are the input contract (preprocess.PlaceResize):
	// how an image becomes the input, and the height and width it is
	// resampled to first (the input's own for "resize").
	Place  string
	Source [2]int
	// Warnings are what a caller should show once: a file older than the
	// input contract, read as "resize".
	Warnings []string
	// Layers are the named layers, the targets of a saliency request, with
	// the shape of their units (for a convolution followed by a rectifier,
	// the rectified map, which has the same shape).
	Layers []Layer
	// SwitchedLayers are the same for the switched net (a request with
	// Switches): stride-2 convolutions there have stride 1 and a max-pool
	// NAME.pool after them.
	SwitchedLayers []Layer
	Meta           map[string]string // the file's free-form metadata
}

// Layer is one named layer of Info.
type Layer struct {
	Name, Type              string
	Channels, Height, Width int
}

// Info describes the model.
func (m *Model) Info() Info {
	f := m.file
	kind := f.Preprocess.Kind
	if kind == "" {
		kind = preprocess.None
	}
	place := f.Preprocess.Place
	if place == "" {
		place = preprocess.PlaceResize
	}
	sh, sw := f.Preprocess.SourceSize(f.Arch.Input)
	info := Info{
		Name:       f.Arch.Name,
		Input:      f.Arch.Input,
		Classes:    slices.Clone(f.Classes),
		Preprocess: kind,
		Place:      place,
		Source:     [2]int{sh, sw},
		Warnings:   m.Warnings(),
		Layers:     layers(f.Arch),
		Meta:       make(map[string]string, len(f.Meta)),
	}
	if s, err := kernel.SwitchedSpec(f.Arch); err == nil {
		info.SwitchedLayers = layers(s)
	}
	for k, v := range f.Meta {
		info.Meta[k] = v
	}
	return info
}

// layers lists the named layers of a valid spec.
func layers(s kernel.Spec) []Layer {
	shapes, err := s.Shapes()
	if err != nil {
		return nil
	}
	var out []Layer
	for i, l := range s.Layers {
		if l.Name != "" {
			sh := shapes[i]
			out = append(out, Layer{Name: l.Name, Type: l.Type, Channels: sh[0], Height: sh[1], Width: sh[2]})
		}
	}
	return out
}

// JSON encodes the info as one JSON object, by hand (encoding/json's
// reflection would grow the wasm builds):
//
//	{"name": str, "input": [c, h, w], "classes": [str…], "preprocess": str,
//	 "place": str, "source": [h, w], "warnings": [str…],
//	 "layers": [{"name", "type": str, "channels", "height", "width": int}…],
//	 "switchedLayers": [same], "meta": {str: str} (keys sorted)}
func (i *Info) JSON() []byte {
	b := []byte(`{"name":`)
	b = appendString(b, i.Name)
	b = append(b, `,"input":[`...)
	for k, v := range i.Input {
		if k > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	b = append(b, `],"classes":[`...)
	for k, c := range i.Classes {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c)
	}
	b = append(b, `],"preprocess":`...)
	b = appendString(b, i.Preprocess)
	b = append(b, `,"place":`...)
	b = appendString(b, i.Place)
	b = append(b, `,"source":[`...)
	b = strconv.AppendInt(b, int64(i.Source[0]), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(i.Source[1]), 10)
	b = append(b, `],"warnings":[`...)
	for k, w := range i.Warnings {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, w)
	}
	b = append(b, ']')
	b = append(b, `,"layers":`...)
	b = appendLayers(b, i.Layers)
	b = append(b, `,"switchedLayers":`...)
	b = appendLayers(b, i.SwitchedLayers)
	b = append(b, `,"meta":{`...)
	keys := make([]string, 0, len(i.Meta))
	for k := range i.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for n, k := range keys {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, i.Meta[k])
	}
	return append(b, "}}"...)
}

func appendLayers(b []byte, ls []Layer) []byte {
	b = append(b, '[')
	for k, l := range ls {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, l.Name)
		b = append(b, `,"type":`...)
		b = appendString(b, l.Type)
		b = append(b, `,"channels":`...)
		b = strconv.AppendInt(b, int64(l.Channels), 10)
		b = append(b, `,"height":`...)
		b = strconv.AppendInt(b, int64(l.Height), 10)
		b = append(b, `,"width":`...)
		b = strconv.AppendInt(b, int64(l.Width), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendString appends s as a JSON string. The weight file guarantees valid
// UTF-8 (format checks it), which passes through unescaped; quotes,
// backslashes and control characters are escaped, and so are U+2028 and
// U+2029 for JavaScript's sake.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b = append(b, `\u`...)
			b = append(b, hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
