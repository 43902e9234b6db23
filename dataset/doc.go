// Package dataset reads labelled image sets into memory: the CIFAR-10 and
// CIFAR-100 binary releases, and folders of PNG or JPEG images with one
// sub-folder per class, from a directory or streamed from a gzip tar. A
// Dataset holds pixel values in [0, 255], channel-major, as every consumer
// takes them: the trainer fits and trains on them, and eval and viz bring
// them to a model's input (allcnn.Model.Inputs).
//
// Every loader treats its input as hostile: a malformed file is an error
// wrapping ErrData that names it, returns no data set, and costs no more
// memory than its bytes.
package dataset
