package dataset_test

import (
	"fmt"

	"github.com/allcnn/allcnn/dataset"
)

// Holding out the last 2 images of each class.
func ExampleDataset_Split() {
	d := &dataset.Dataset{Classes: []string{"cat", "dog"}, C: 1, H: 1, W: 1,
		Images: []float32{0, 1, 2, 3, 4, 5}, Labels: []int{0, 1, 0, 0, 1, 1}}
	train, val := d.Split(2)
	fmt.Println(train.Images, train.Labels)
	fmt.Println(val.Images, val.Labels)
	// Output:
	// [0 1] [0 1]
	// [2 3 4 5] [0 0 1 1]
}
