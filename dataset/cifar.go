package dataset

import (
	"fmt"
	"os"
	"path/filepath"
)

// The CIFAR binary releases (Krizhevsky 2009, "binary version"): fixed-size
// records of label byte(s) followed by 3×32×32 pixels, channel-major, rows
// top to bottom. CIFAR-100 records carry the coarse label, then the fine one.
type cifarFormat struct {
	name        string
	labelBytes  int // bytes before the pixels
	labelOffset int // which of them is the label we use
	classes     []string
	train, test []string // file names inside DIR
}

const cifarPixels = 3 * 32 * 32

var cifar10 = cifarFormat{
	name: "cifar10", labelBytes: 1, labelOffset: 0,
	classes: []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
	train:   []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	test:    []string{"test_batch.bin"},
}

// cifar100 uses the fine labels; the names are those of fine_label_names.txt
// (alphabetical).
var cifar100 = cifarFormat{
	name: "cifar100", labelBytes: 2, labelOffset: 1,
	classes: []string{
		"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
		"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
		"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
		"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
		"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
		"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
		"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
		"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
		"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
		"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
	},
	train: []string{"train.bin"},
	test:  []string{"test.bin"},
}

func loadCIFAR(f cifarFormat, dir string, test bool) (*Dataset, error) {
	files := f.train
	if test {
		files = f.test
	}
	d := &Dataset{Classes: append([]string(nil), f.classes...), C: 3, H: 32, W: 32}
	for _, name := range files {
		if err := f.read(filepath.Join(dir, name), d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// read appends the records of one file to d.
func (f cifarFormat) read(path string, d *Dataset) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("dataset: %s: %w", f.name, err)
	}
	rec := f.labelBytes + cifarPixels
	if len(b)%rec != 0 {
		return fmt.Errorf("%w: %s: %d bytes is not a whole number of %d-byte records: record %d is truncated",
			ErrData, path, len(b), rec, len(b)/rec)
	}
	n := len(b) / rec
	if n == 0 {
		return fmt.Errorf("%w: %s: empty file", ErrData, path)
	}
	base := len(d.Images)
	d.Images = append(d.Images, make([]float32, n*cifarPixels)...)
	for i := 0; i < n; i++ {
		r := b[i*rec : (i+1)*rec]
		l := int(r[f.labelOffset])
		if l >= len(f.classes) {
			return fmt.Errorf("%w: %s: record %d: label %d out of range [0, %d)", ErrData, path, i, l, len(f.classes))
		}
		d.Labels = append(d.Labels, l)
		img := d.Images[base+i*cifarPixels : base+(i+1)*cifarPixels]
		for j, v := range r[f.labelBytes:] {
			img[j] = float32(v)
		}
	}
	return nil
}
