package agent

import (
	"errors"
	"fmt"
	"maps"

	"github.com/lineside/lineside/inference"
)

var _ predictorHost = (*Agent)(nil)

// loadServingPredictor loads the predictor a failure-prediction model starts
// on: the serving version recorded by an earlier update when its file is on
// disk and loads, else the configured file.
func (a *Agent) loadServingPredictor(name string, mc ModelConfig, opts inference.PredictorOptions) (*inference.Predictor, error) {
	if a.updates != nil {
		if src := a.updates.source(name, mc.Path); src.version != "" {
			upd := opts
			upd.Overrides = maps.Clone(mc.Metadata)
			if upd.Overrides == nil {
				upd.Overrides = map[string]string{}
			}
			upd.Overrides["version"] = src.version
			p, err := inference.LoadPredictor(src.path, upd)
			if err == nil {
				return p, nil
			}
			a.log.Error("recorded serving version does not load; serving the configured file",
				"component", "updates", "model", name, "version", src.version, "err", err)
		}
	}
	return inference.LoadPredictor(mc.Path, opts)
}

// registerPredictors makes the failure-prediction models of cfg's assets
// reachable by updates and records what they serve.
func (a *Agent) registerPredictors(cfg *Config) error {
	if a.updates == nil {
		return nil
	}
	serving := map[string]string{}
	if h := a.sensorHub(); h != nil {
		for _, m := range h.models {
			serving[m.name] = m.version
		}
	}
	for name, mc := range assetModels(cfg) {
		v, ok := serving[name]
		if !ok {
			continue
		}
		configured, err := inference.ReadMetadata(mc.Path)
		if err != nil {
			return fmt.Errorf("%w: models.%s: %w", ErrModel, name, err)
		}
		version := configured.Version
		if ov, ok := mc.Metadata["version"]; ok {
			version = ov
		}
		opts := inference.PredictorOptions{Overrides: maps.Clone(mc.Metadata), IntraThreads: cfg.Inference.IntraThreads}
		delete(opts.Overrides, "version")
		a.updates.registerPredictor(name, &predictorTarget{host: a, opts: opts})
		a.updates.started(name, mc.Path, version, v)
	}
	return nil
}

// onPipeline runs f with the sensor pipeline's model name on the
// pipeline's goroutine, between samples, or directly when the pipeline
// does not run.
func (a *Agent) onPipeline(name string, f func(h *sensorHub, m *pdmModel)) error {
	a.pipeMu.RLock()
	h, r := a.sensors, a.sensorRun
	a.pipeMu.RUnlock()
	m := pipelineModel(h, name)
	if m == nil {
		return fmt.Errorf("no sensor pipeline runs model %s", name)
	}
	if r == nil {
		f(h, m)
		return nil
	}
	done := make(chan struct{})
	select {
	case h.ctl <- func() { defer close(done); f(h, m) }:
		<-done
		return nil
	case <-r.done:
		return errors.New("the sensor pipeline stopped")
	}
}

// pipelineModel returns h's model name, nil without.
func pipelineModel(h *sensorHub, name string) *pdmModel {
	if h == nil {
		return nil
	}
	for _, m := range h.models {
		if m.name == name {
			return m
		}
	}
	return nil
}

// servingPredictor implements predictorHost.
func (a *Agent) servingPredictor(name string) (md inference.Metadata, maxBatch int, err error) {
	err = a.onPipeline(name, func(_ *sensorHub, m *pdmModel) {
		md, maxBatch = m.pred.Metadata(), m.pred.MaxBatch()
	})
	return md, maxBatch, err
}

// swapPredictor implements predictorHost: the pending batch runs on the old
// predictor (its windows are in the old one's buffers), then p serves the
// next batches; windows and alert states stay with the assets.
func (a *Agent) swapPredictor(name string, p *inference.Predictor, version string) error {
	var old *inference.Predictor
	err := a.onPipeline(name, func(h *sensorHub, m *pdmModel) {
		if len(m.slots) > 0 {
			h.runBatch(m)
		}
		old, m.pred, m.version = m.pred, p, version
		h.log.Info("model swapped in", "model", name, "version", version)
	})
	if err != nil {
		return err
	}
	a.pipeMu.Lock()
	for i, x := range a.predictors {
		if x == old {
			a.predictors[i] = p
		}
	}
	a.models[name] = version
	a.pipeMu.Unlock()
	old.Close()
	return nil
}

// batchCounts implements predictorHost.
func (a *Agent) batchCounts(name, version string) (batches, failed uint64) {
	a.pipeMu.RLock()
	m := pipelineModel(a.sensors, name)
	a.pipeMu.RUnlock()
	if m == nil {
		return 0, 0
	}
	return m.stats.counts(version)
}
