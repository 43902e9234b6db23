package main

import (
	"fmt"
	"io"
)

type classProb struct {
	Class string  `json:"class"`
	Index int     `json:"index"`
	Prob  float32 `json:"prob"`
}

type prediction struct {
	Image string      `json:"image"`
	Top   []classProb `json:"top"`
}

// predictBatch bounds the images run through the net at once.
const predictBatch = 64

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := flags("predict", `predict -model FILE [-top 5] [-flip] [-json] IMAGE...

Classifies each image (PNG or JPEG, any size), brought to the net's input
as the model file says (inspect prints it): resampled (area averaging when
shrinking, bilinear when enlarging) to the input, or for a Large All-CNN to
its source size and centred on its canvas, or for an ImageNet net to its
resize and cropped; preprocessed as the model was trained, run through the
net in evaluation mode (no dropout), and the softmax's top classes are
printed with their probabilities. -flip averages them with the mirrored
image's (test-time augmentation, off by default). Flags may also follow the
images.`, stderr)
	path := fs.String("model", "", "weight file (required)")
	top := fs.Int("top", 5, "how many classes to print per image (at most the model's classes)")
	flip := fs.Bool("flip", false, "average each image's probabilities with its mirror's (test-time augmentation)")
	asJSON := fs.Bool("json", false, "print a JSON array: per image its path and top classes {class, index, prob}")
	images, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(images) == 0 || *top < 1 {
		fs.Usage()
		return fmt.Errorf("%w: predict needs -model FILE, -top ≥ 1 and at least one IMAGE", errUsage)
	}
	m, err := openModel(*path, stderr)
	if err != nil {
		return err
	}
	// Read every image first, so that a bad file fails before any output.
	d, err := readImages(images, m.Source())
	if err != nil {
		return err
	}
	k, classes := m.Classes(), m.File().Classes
	var preds []prediction
	for lo := 0; lo < d.Len(); lo += predictBatch {
		idx := seq(d.Len())[lo:min(lo+predictBatch, d.Len())]
		x, err := inputs(m, d, idx)
		if err != nil {
			return err
		}
		p, err := m.Probs(x, *flip)
		if err != nil {
			return err
		}
		for i := range idx {
			row := p[i*k : (i+1)*k]
			pr := prediction{Image: images[lo+i]}
			for _, c := range topK(row, *top) {
				pr.Top = append(pr.Top, classProb{Class: classes[c], Index: c, Prob: row[c]})
			}
			preds = append(preds, pr)
		}
	}
	if *asJSON {
		return writeJSON(stdout, preds)
	}
	for _, pr := range preds {
		fmt.Fprintln(stdout, pr.Image)
		for _, c := range pr.Top {
			fmt.Fprintf(stdout, "  %6.2f%%  %s\n", 100*c.Prob, c.Class)
		}
	}
	return nil
}
