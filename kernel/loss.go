package kernel

import "math"

// Softmax writes the row-wise softmax of logits (n rows of k) to probs,
// computed stably by subtracting each row's maximum.
func Softmax(logits []float32, k int, probs []float32) {
	for r := 0; r < len(logits)/k; r++ {
		row, out := logits[r*k:(r+1)*k], probs[r*k:(r+1)*k]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			out[j] = float32(e)
			s += e
		}
		for j := range out {
			out[j] = float32(float64(out[j]) / s)
		}
	}
}

// SoftmaxCrossEntropy returns the mean cross-entropy of softmax(logits)
// against labels over n = len(labels) rows of k logits, and the number of
// rows whose largest logit is the label. If dlogits is not nil it receives
// the gradient of the mean loss: (softmax − onehot)/n.
func SoftmaxCrossEntropy(logits []float32, k int, labels []int, dlogits []float32) (loss float64, correct int) {
	n := len(labels)
	probs := dlogits
	if probs == nil {
		probs = make([]float32, len(logits))
	}
	Softmax(logits, k, probs)
	for r, lab := range labels {
		row := probs[r*k : (r+1)*k]
		loss -= math.Log(max(float64(row[lab]), 1e-30))
		if Argmax(logits[r*k:(r+1)*k]) == lab {
			correct++
		}
		if dlogits != nil {
			row[lab] -= 1
			for j := range row {
				row[j] /= float32(n)
			}
		}
	}
	return loss / float64(n), correct
}

// SmoothedCrossEntropy is SoftmaxCrossEntropy against smoothed labels
// (Szegedy et al. 2016): the target of row r puts 1 − eps + eps/k on its
// label and eps/k on every other class. With eps = 0 it is
// SoftmaxCrossEntropy. dlogits, if not nil, receives (softmax − target)/n.
func SmoothedCrossEntropy(logits []float32, k int, labels []int, eps float64, dlogits []float32) (loss float64, correct int) {
	if eps == 0 {
		return SoftmaxCrossEntropy(logits, k, labels, dlogits)
	}
	n := len(labels)
	probs := dlogits
	if probs == nil {
		probs = make([]float32, len(logits))
	}
	Softmax(logits, k, probs)
	off := eps / float64(k)
	for r, lab := range labels {
		row := probs[r*k : (r+1)*k]
		for j, p := range row {
			t := off
			if j == lab {
				t += 1 - eps
			}
			loss -= t * math.Log(max(float64(p), 1e-30))
			if dlogits != nil {
				row[j] = float32((float64(p) - t) / float64(n))
			}
		}
		if Argmax(logits[r*k:(r+1)*k]) == lab {
			correct++
		}
	}
	return loss / float64(n), correct
}

// Argmax is the index of the largest value (the first, on ties).
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
