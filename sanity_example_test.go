package allcnn_test

import (
	"fmt"

	"github.com/allcnn/allcnn"
	"github.com/allcnn/allcnn/kernel"
)

// The model-randomization tests of Adebayo et al. on a net and a batch of
// two images: each step's similarity to the trained net's maps.
func ExampleSanityChecks() {
	spec, _ := kernel.ZooSpec("all-cnn-a", 0, 1.0/16)
	net, _ := kernel.Build(*spec)
	net.Init("he", 1) // a trained net in practice, as allcnn.Open reads it
	x := kernel.NewTensor(2, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	s, err := allcnn.SanityChecks(net, x, []allcnn.Method{{Name: "gradient"}, {Name: "gradcam"}}, allcnn.Randomization{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("methods:", s.Methods)
	for _, st := range s.Cascade {
		fmt.Println(st.Name)
	}
	fmt.Printf("trained: ρ %.2f, SSIM %.2f\n", s.Cascade[0].Scores[0].Spearman, s.Cascade[0].Scores[0].SSIM)
	fmt.Println("class layer random: ρ < 0.5:", s.Cascade[1].Scores[0].Spearman < 0.5)
	fmt.Println("independent:", len(s.Independent), "steps")
	// Output:
	// methods: [gradient gradcam]
	// trained
	// conv7
	// conv7+conv6
	// conv7+conv6+conv5
	// conv7+conv6+conv5+conv4
	// conv7+conv6+conv5+conv4+conv3
	// conv7+conv6+conv5+conv4+conv3+conv2
	// conv7+conv6+conv5+conv4+conv3+conv2+conv1
	// trained: ρ 1.00, SSIM 1.00
	// class layer random: ρ < 0.5: true
	// independent: 7 steps
}
