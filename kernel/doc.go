// Package kernel is the portable float32 math of allcnn: the layers of the
// All Convolutional Net (Springenberg et al., ICLR 2015) with forward and
// backward passes, the paper's backward rules for visualization (gradient,
// deconvnet, guided backpropagation), and the paper's architectures as data.
// Batch normalisation (BatchNorm) is a training aid outside the paper:
// FoldBatchNorm merges it into the convolutions, leaving the paper's net.
//
// Comments across the repository cite the paper, Springenberg, Dosovitskiy,
// Brox and Riedmiller, "Striving for Simplicity: The All Convolutional Net",
// arXiv:1412.6806, as "paper Table 6", "paper Fig. 1" or "paper Eq. 1", and
// the notes on what the code takes from it, NOTES.md at the repository
// root, as "NOTES.md §n".
//
// The data path, from a spec to an explanation:
//
//	Spec (ZooSpec, or JSON) ─Options.Build→ Net ─Init or weights→
//	Forward(x NCHW) → logits ─Softmax→ probabilities
//	Saliency(x, targets, Rule) → input-space map (Backward with the rule)
//
// Tensors are NCHW. The package is pure Go with no cgo and no syscall/js, so
// it builds natively and for GOOS=js and GOOS=wasip1. How the layers
// compute (goroutines, matrix products through a gonum blas.Float32,
// Winograd, assembly loops) is the engine in kernel/internal/engine, chosen
// by the Options a net is built with; the zero Options use gonum's blas32
// seam (blas32.Use installs a faster implementation, see package native).
package kernel
