// Package onnx converts between allcnn weight files and ONNX models, so
// that every allcnn model runs in ONNX Runtime and a conv net trained
// elsewhere (a PyTorch net exported by torch.onnx.export, say) gets
// allcnn's saliency maps, natively and in the browser.
//
// ONNX is read and written through the official onnx.proto (Debian's
// python3-onnx ships it) compiled by protoc-gen-go into
// onnx/internal/onnxpb (`make onnx-proto`), not a wire decoder of our own.
//
// # Export
//
// Export writes opset 13 with a dynamic batch dimension. The graph's input,
// "pixels", is N×C×H×W float32 pixel values in [0, 255] of images already
// resampled to the file's source size (preprocess.Params.SourceSize: the
// input's for "resize", the canvas's image or the crop's source for the
// others); resampling stays outside the graph, since ONNX's Resize does
// not average areas as allcnn does. The preprocessing and the placement
// are leading nodes, computed as the kernel computes them:
//
//	x/255           Div                       every model
//	(x − mean)/std  Sub, Div per channel      preprocess.Channel
//	canvas          Pad with 0, centred       preprocess.PlaceCanvas
//	crop            Slice, central window     preprocess.PlaceCrop
//
// They are nodes, not folded into the first convolution: that convolution
// pads with zeros, which in normalised values are the data's mean colour;
// folded, its padding would stand for black pixels, and the border outputs
// would change. GCN with ZCA whitening (a (C·H·W)² matrix) is refused. The
// output, "probs", is the softmax of the logits, N×classes.
//
// # Import
//
// Import reads a chain of nodes from one N×C×H×W float32 input to one
// output of N×classes or N×classes×1×1. Operators, and what each becomes:
//
//	Operator            Becomes                        Conditions
//	Conv                conv                           square kernel, any size; equal strides; the
//	                                                   same padding on every side (or auto_pad
//	                                                   VALID, or SAME where it pads evenly);
//	                                                   dilation 1; group 1; bias optional
//	Relu                relu
//	LeakyRelu           leaky_relu                     alpha in [0, 1)
//	MaxPool             maxpool                        square; ceil_mode as PyTorch; no Indices read
//	AveragePool         conv, weights 1/k² per channel every window full: no padding, or padding
//	                                                   counted (count_include_pad, PyTorch's
//	                                                   default); ceil_mode only where it adds no
//	                                                   window; channels²·k² ≤ MaxPoolWeights
//	LpPool              pnorm (paper Eq. 1)            square; whole p
//	GlobalAveragePool   gap
//	Dropout             dropout                        ratio kept; not in training mode
//	BatchNormalization  folded into the conv before it right after a Conv or Gemm
//	Flatten             nothing                        axis 1 of a 1×1 map (after global pooling)
//	Gemm                1×1 conv                       after Flatten; transA 0; alpha, beta, transB
//	Softmax             dropped: the net gives logits  the last node, over the classes
//	Pad                 the next layer's padding       zeros, inside the net, before a Conv,
//	                                                   AveragePool or LpPool
//	Identity, Constant  nothing (values)
//	Div, Sub, Mul       the file's preprocessing       leading: x/255, −mean, /std, as Export
//	Pad, Slice          the file's placement           leading: a centred canvas or crop
//
// Anything else, in the default domain or another, is an error that names
// the node and its operator; so is a graph that is not a chain (a branch, a
// residual connection). Weights come from initializers or Constant nodes,
// raw (little-endian) or typed; data in external files is refused. Layers
// take their nodes' names where a layer may have them, else conv1, pool1, …
// (Gemm: fc1, …; AveragePool: avgpool1, …).
//
// Options give what a model does not say: the torchvision-style input
// normalisation (x/255, then per channel: Options.Mean, Options.Std), the
// class names, the input size where the graph leaves it open.
//
// # Hostile files
//
// Import treats its input as hostile. Before parsing, it walks the wire
// format once, guided by the schema, and refuses a file whose parse would
// allocate more than twice its size and 1 MiB (many tiny messages), or
// whose messages nest deeper than MaxDepth; after it, every tensor's
// length is checked against its shape before it is decoded, and every
// limit (MaxModelSize, MaxNodes, the kernel's and the format's) before
// anything is allocated by size. FuzzImport holds it to that.
package onnx
