package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/allcnn/allcnn/format"
)

type inspectTensor struct {
	Name  string  `json:"name"`
	Shape []int   `json:"shape"`
	DType string  `json:"dtype"`
	Min   float32 `json:"min"`
	Max   float32 `json:"max"`
	RMS   float64 `json:"rms"`
}

type inspectReport struct {
	File       string            `json:"file"`
	Checksum   string            `json:"checksum"`
	Model      modelRow          `json:"model"`
	Classes    []string          `json:"classes"`
	Preprocess string            `json:"preprocess"`
	Input      string            `json:"input"`
	Tensors    []inspectTensor   `json:"tensors"`
	Meta       map[string]string `json:"meta"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := flags("inspect", "inspect [-json] [-layers] FILE", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	layers := fs.Bool("layers", false, "also list the layers with their output shapes")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: inspect needs one FILE", errUsage)
	}
	path := fs.Arg(0)
	f, err := format.ReadFile(path)
	if err != nil {
		// One line: the reason, naming the file (ReadFile names it).
		return err
	}
	row, err := describe(&f.Arch)
	if err != nil {
		return err
	}
	r := inspectReport{File: path, Checksum: "ok", Model: row, Classes: f.Classes, Preprocess: describePreprocess(f), Input: describeInput(f), Meta: f.Meta}
	for _, t := range f.Tensors {
		it := inspectTensor{Name: t.Name, Shape: t.Shape, DType: string(t.DType)}
		if len(t.Data) > 0 {
			it.Min, it.Max = t.Data[0], t.Data[0]
		}
		var ss float64
		for _, v := range t.Data {
			it.Min, it.Max = min(it.Min, v), max(it.Max, v)
			ss += float64(v) * float64(v)
		}
		if len(t.Data) > 0 {
			it.RMS = sqrt(ss / float64(len(t.Data)))
		}
		r.Tensors = append(r.Tensors, it)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	w := stdout
	fmt.Fprintf(w, "file:        %s (checksum ok)\n", path)
	fmt.Fprintf(w, "model:       %s, input %s, output %s\n", row.Name, shape(row.Input), shape(row.Output))
	fmt.Fprintf(w, "size:        %d parameters, %s MACs per image\n", row.Params, human(row.MACs))
	fmt.Fprintf(w, "classes:     %d: %s\n", len(f.Classes), strings.Join(f.Classes, ", "))
	fmt.Fprintf(w, "preprocess:  %s\n", r.Preprocess)
	fmt.Fprintf(w, "image:       %s\n", r.Input)
	if *layers {
		shapes, _ := f.Arch.Shapes()
		fmt.Fprintln(w, "layers:")
		for i, l := range f.Arch.Layers {
			fmt.Fprintf(w, "  %-3d %-10s %-8s %s\n", i, l.Type, l.Name, shape(shapes[i]))
		}
	}
	fmt.Fprintf(w, "tensors:     %d\n", len(r.Tensors))
	for _, t := range r.Tensors {
		fmt.Fprintf(w, "  %-14s %-16s %s  min %+.4f max %+.4f rms %.4f\n", t.Name, dims(t.Shape), t.DType, t.Min, t.Max, t.RMS)
	}
	if len(f.Meta) > 0 {
		fmt.Fprintln(w, "metadata:")
		keys := make([]string, 0, len(f.Meta))
		for k := range f.Meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, f.Meta[k])
		}
	}
	return nil
}

func describePreprocess(f *format.File) string {
	p := f.Preprocess
	switch p.Kind {
	case "channel":
		return fmt.Sprintf("per-channel normalization, mean %v, std %v", p.Mean, p.Std)
	case "gcn-zca":
		return fmt.Sprintf("GCN (scale %g) + ZCA whitening (%d×%d, stored %s)", p.GCNScale, len(p.ZCAMean), len(p.ZCAMean), f.ZCADType)
	}
	return "none (pixels scaled to [0, 1])"
}

func dims(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "×")
}
