// Package trainer holds what only training needs: fitting the input
// preprocessing (per-channel normalization, GCN + ZCA), augmentation, SGD
// with its schedules, checkpoints and metrics. It reads its data through
// package dataset; applying preprocessing lives in kernel/preprocess, so
// that native code and the browser compute the same network input.
package trainer
