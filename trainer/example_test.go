package trainer_test

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/allcnn/allcnn/trainer"
)

// A 1×2×3 image mirrored and moved one pixel right: the column shifted in
// is 0, the network-input value of an average pixel.
func ExampleTransform() {
	img := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	out := make([]float32, len(img))
	trainer.Transform(img, out, 1, 2, 3, true, 1, 0)
	fmt.Println(out)
	// Output: [0 3 2 0 6 5]
}

// The paper's augmentation, reproducible from a checkpoint: the state of
// the PCG source is saved with MarshalBinary and restored with
// UnmarshalBinary.
func ExampleAugment() {
	src := rand.NewPCG(1, 2)
	aug := trainer.Augment{Flip: true, MaxShift: 5}
	img := make([]float32, 3*32*32)
	for i := range img {
		img[i] = float32(i)
	}
	state, _ := src.MarshalBinary() // saved with the checkpoint
	a := make([]float32, len(img))
	aug.Apply(rand.New(src), img, a, 3, 32, 32)

	resumed := new(rand.PCG)
	_ = resumed.UnmarshalBinary(state)
	b := make([]float32, len(img))
	aug.Apply(rand.New(resumed), img, b, 3, 32, 32)
	fmt.Println(slices.Equal(a, b))
	// Output: true
}
