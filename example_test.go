package allcnn_test

import (
	"fmt"

	"github.com/allcnn/allcnn"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/kernel"
	"github.com/allcnn/allcnn/kernel/preprocess"
)

// A weight file in, a class and a guided-backpropagation map out: what the
// browser does with an image from a canvas.
func Example() {
	// A weight file: All-CNN-C at 1/16 width with seeded random weights.
	spec, _ := kernel.ZooSpec("all-cnn-c", 0, 1.0/16)
	net, _ := kernel.Build(*spec)
	net.Init("he", 1)
	classes := []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
	file, _ := format.Marshal(format.FromNet(net, classes, preprocess.Params{Kind: preprocess.None}, format.F32, nil))

	m, err := allcnn.Load(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	info := m.Info()
	fmt.Println(info.Name, info.Input, len(info.Layers), "layers")

	// A 64×48 RGBA image: cropped to 48×48, averaged down to 32×32.
	w, h := 64, 48
	rgba := make([]byte, 4*w*h)
	for i := range rgba {
		rgba[i] = byte(i * 7)
	}
	probs, _ := m.Classify(rgba, w, h)
	fmt.Println("probabilities:", len(probs))

	req, _ := allcnn.ParseRequest("method=guided&colormap=rgb")
	s, err := m.SaliencyRGBA(rgba, w, h, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("explains %s; %d values, %d×%d RGBA\n", info.Classes[s.Unit], len(s.Raw), s.Width, s.Height)

	_, err = m.Saliency(make([]float32, 3*32*32), allcnn.SaliencyRequest{Layer: "conv10"})
	fmt.Println(err)
	// Output:
	// all-cnn-c [3 32 32] 10 layers
	// probabilities: 10
	// explains ship; 3072 values, 32×32 RGBA
	// allcnn: invalid request: kernel: no layer "conv10" in all-cnn-c (layers: [conv1 conv2 conv3 conv4 conv5 conv6 conv7 conv8 conv9 gap])
}
