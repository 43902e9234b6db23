package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/allcnn/allcnn/kernel"
)

// paperParams is how the paper rounds each model's size (its text and
// tables), shown beside our exact counts.
var paperParams = map[string]string{
	"model-a": "≈0.9 M", "strided-cnn-a": "≈0.9 M", "convpool-cnn-a": "≈1.28 M", "all-cnn-a": "≈1.28 M",
	"model-b": "≈1 M", "strided-cnn-b": "≈1 M", "convpool-cnn-b": "≈1.35 M", "all-cnn-b": "≈1.35 M",
	"model-c": "≈1.3 M", "strided-cnn-c": "≈1.3 M", "convpool-cnn-c": "≈1.4 M", "all-cnn-c": "≈1.4 M",
	"large-all-cnn": "", "imagenet-all-cnn": "< 10 M",
}

type modelRow struct {
	Name   string `json:"name"`
	Input  [3]int `json:"input"`
	Params int    `json:"params"`
	MACs   int64  `json:"macs"`
	Output [3]int `json:"output"`
	Paper  string `json:"paper_params,omitempty"`
}

func runModels(args []string, stdout, stderr io.Writer) error {
	fs := flags("models", "models [-json] [-classes N] [-width W] [-spec NAME [-norm batch]]", stderr)
	asJSON := fs.Bool("json", false, "print one JSON array instead of a table")
	classes := fs.Int("classes", 0, "number of classes (0: the paper's, 1000 for imagenet-all-cnn, 10 otherwise)")
	width := fs.Float64("width", 1, "width multiplier of hidden layers")
	spec := fs.String("spec", "", "print this architecture's layers as JSON (the -arch format of allcnn-train, and what tools/torch/twin.py builds)")
	norm := fs.String("norm", "none", "with -spec: batch adds batch normalisation after every convolution but the class layer, as 'allcnn-train -norm batch' trains")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *spec != "" {
		s, err := kernel.ZooSpec(*spec, *classes, *width)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		switch *norm {
		case "none":
		case "batch":
			bn, err := kernel.WithBatchNorm(*s)
			if err != nil {
				return err
			}
			s = &bn
		default:
			return fmt.Errorf("%w: -norm %q (want none or batch)", errUsage, *norm)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	var rows []modelRow
	for _, name := range kernel.ZooNames() {
		s, err := kernel.ZooSpec(name, *classes, *width)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		row, err := describe(s)
		if err != nil {
			return err
		}
		if *classes == 0 && *width == 1 {
			row.Paper = paperParams[name]
		}
		rows = append(rows, row)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	fmt.Fprintf(stdout, "%-18s %-12s %12s %10s %-12s %s\n", "MODEL", "INPUT", "PARAMS", "MACS", "OUTPUT", "PAPER")
	for _, r := range rows {
		fmt.Fprintf(stdout, "%-18s %-12s %12d %10s %-12s %s\n", r.Name, shape(r.Input), r.Params, human(r.MACs), shape(r.Output), r.Paper)
	}
	return nil
}

func describe(s *kernel.Spec) (modelRow, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return modelRow{}, err
	}
	p, _ := s.ParamCount()
	m, _ := s.MACs()
	return modelRow{Name: s.Name, Input: s.Input, Params: p, MACs: m, Output: shapes[len(shapes)-1]}, nil
}

func shape(s [3]int) string { return fmt.Sprintf("%d×%d×%d", s[0], s[1], s[2]) }

func human(n int64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.2f G", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1f M", float64(n)/1e6)
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
