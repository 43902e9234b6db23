// Package trainer holds what only training needs: data sets (CIFAR-10/100
// binary files, image folders and their gzip tars), fitting the input
// preprocessing (per-channel normalization, GCN + ZCA), and augmentation.
// Applying preprocessing lives in kernel/preprocess, so that native code and
// the browser compute the same network input.
package trainer
