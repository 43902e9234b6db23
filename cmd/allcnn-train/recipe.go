package main

// fastRecipe trains All-CNN-C to the paper's accuracy in about two hours on
// two cores (RATIONALE.md, "Why a fast recipe, and what each of its
// choices buys"): batch normalisation while training, folded away at the
// end, so that the model is the paper's net; a one-cycle schedule with
// Nesterov momentum; label smoothing; flips, translations and cutout; no
// dropout; the weights averaged over the last steps.
var fastRecipe = [][2]string{
	{"arch", "all-cnn-c"},
	{"width", "0.75"},
	{"norm", "batch"},
	{"dropout", "0,0"},
	{"epochs", "46"},
	{"batch", "128"},
	{"lr", "0.2"},
	{"lr-schedule", "onecycle"},
	{"warmup", "5"},
	{"nesterov", "true"},
	{"momentum", "0.9"},
	{"weight-decay", "0.0005"},
	{"label-smoothing", "0.1"},
	{"augment", "true"},
	{"cutout", "8"},
	{"ema", "0.999"},
	{"preprocess", "channel"},
	{"dtype", "f16"},
}
