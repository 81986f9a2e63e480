package agent

import (
	"fmt"
	"maps"
	"math"
	"slices"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/inference"
)

// startUpdates builds the model registry and the updater, before the cameras
// so that they start on the recorded serving versions.
func (a *Agent) startUpdates() error {
	a.registry = inference.NewRegistry()
	u, err := newUpdater(a.cfg.Updates, a.cfg.UpdatesDir(), a.layout, a.registry, a.log)
	if err != nil {
		return err
	}
	a.updates = u
	return nil
}

// loadServing loads the classifier a camera starts on: the serving version
// recorded by an earlier update when its file is on disk and loads, else the
// configured file.
func (a *Agent) loadServing(name string, mc ModelConfig) (*inference.Classifier, error) {
	opts := inference.ClassifierOptions{Overrides: mc.Metadata, IntraThreads: a.cfg.Inference.IntraThreads}
	src := a.updates.source(name, mc.Path)
	if src.version != "" {
		upd := inference.ClassifierOptions{Overrides: map[string]string{}, IntraThreads: opts.IntraThreads}
		maps.Copy(upd.Overrides, mc.Metadata)
		upd.Overrides["version"] = src.version
		clf, err := inference.LoadClassifier(src.path, upd)
		if err == nil {
			return clf, nil
		}
		a.log.Error("recorded serving version does not load; serving the configured file",
			"component", "updates", "model", name, "version", src.version, "err", err)
	}
	return inference.LoadClassifier(mc.Path, opts)
}

// registerSlot makes a camera worker's model reachable by updates.
func (a *Agent) registerSlot(name string, w *visionWorker) error {
	mc := a.cfg.Models[name]
	opts := inference.ClassifierOptions{Overrides: map[string]string{}, IntraThreads: a.cfg.Inference.IntraThreads}
	maps.Copy(opts.Overrides, mc.Metadata)
	delete(opts.Overrides, "version")
	a.registry.Register(name, opts, w.modelSlot())
	configured, err := inference.ReadMetadata(mc.Path)
	if err != nil {
		return fmt.Errorf("%w: models.%s: %w", ErrModel, name, err)
	}
	version := configured.Version
	if v, ok := mc.Metadata["version"]; ok {
		version = v
	}
	a.updates.started(name, mc.Path, version, w.slot.Version())
	return nil
}

// connected runs on every new MQTT connection: the updater's subscriptions
// (manifests). Commands, rollback included, come through the dispatcher's
// {base}/cmd/+ subscription, which the uplink renews itself.
func (a *Agent) connected(c mqtt.Client) {
	a.updates.onConnect(c)
}

// modelVersions returns the serving version of every model, for status.
func (a *Agent) modelVersions() map[string]string {
	if a.updates == nil {
		return a.models
	}
	return a.updates.servingVersions()
}

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
