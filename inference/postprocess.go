package inference

import "math"

// Result is the outcome of classifying one frame.
type Result struct {
	// Label is the name of the most likely class.
	Label string
	// Index is the position of Label in Labels().
	Index int
	// Score is the probability of Label, in [0, 1].
	Score float32
	// Scores holds the probability of every class, in label order, summing to
	// 1. It is owned by the Classifier and overwritten by its next Classify
	// call; use Clone to keep it longer.
	Scores []float32
}

// Clone returns a copy of r whose Scores no longer alias the Classifier's
// buffer.
func (r Result) Clone() Result {
	r.Scores = append([]float32(nil), r.Scores...)
	return r
}

// OK reports whether the result's label is okLabel, i.e. a good part.
func (r Result) OK(okLabel string) bool {
	return r.Label == okLabel
}

// softmax turns logits into probabilities in place. It subtracts the maximum
// first so large logits cannot overflow.
func softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	maxV := x[0]
	for _, v := range x[1:] {
		maxV = max(maxV, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - maxV))
		x[i] = float32(e)
		sum += e
	}
	for i := range x {
		x[i] = float32(float64(x[i]) / sum)
	}
}

// argmax returns the index and value of the largest element, the first one
// on ties; -1 for an empty slice.
func argmax(x []float32) (int, float32) {
	best, bestV := -1, float32(math.Inf(-1))
	for i, v := range x {
		if v > bestV || best < 0 {
			best, bestV = i, v
		}
	}
	return best, bestV
}

// postprocess copies raw model output into scores, applies softmax when the
// model returns logits, and picks the winning label.
func postprocess(raw, scores []float32, labels []string, output string) Result {
	copy(scores, raw)
	if output == OutputLogits {
		softmax(scores)
	}
	i, v := argmax(scores)
	return Result{Label: labels[i], Index: i, Score: v, Scores: scores}
}
