package agent

import (
	"math"
	"slices"

	"github.com/lineside/lineside/inference"
)

// adopt rebuilds what the worker derives from its model after the slot swapped
// in a new version: the event encoder (version and labels) and the index of
// the good label for snapshots. It runs in the worker, between frames, once
// per swap.
func (w *visionWorker) adopt() {
	clf := w.slot.Classifier()
	md := clf.Metadata()
	w.enc = newDefectEncoder(w.name, w.model, md.Version, clf.Labels())
	w.snaps.okIndex = slices.Index(clf.Labels(), clf.OKLabel())
	w.log.Info("model swapped in", "model", w.model, "version", md.Version)
}

// modelSlot returns the slot through which model updates reach the worker.
func (w *visionWorker) modelSlot() *inference.Slot { return w.slot }

// finite reports whether every score is a finite number.
func finite(scores []float32) bool {
	for _, s := range scores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return false
		}
	}
	return true
}
