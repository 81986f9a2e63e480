package agent

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sync/update"
)

// predictorHost is what the updater needs of the sensor pipeline to update
// a failure-prediction model. The Agent implements it.
type predictorHost interface {
	// servingPredictor returns the contract and batch size of the
	// predictor that serves name.
	servingPredictor(name string) (inference.Metadata, int, error)
	// swapPredictor hands p to the pipeline, which swaps it in between
	// batches and closes the predictor it replaced.
	swapPredictor(name string, p *inference.Predictor, version string) error
	// batchCounts returns how many batches version of name ran and how
	// many of them failed.
	batchCounts(name, version string) (batches, failed uint64)
}

// predictorTarget is a failure-prediction model that updates reach.
type predictorTarget struct {
	host predictorHost
	// opts load a new version: the model's config overrides without the
	// version, the runtime threads; MaxBatch comes from the serving one.
	opts inference.PredictorOptions
}

// registerPredictor makes name a failure-prediction model that updates
// reach through host.
func (u *updater) registerPredictor(name string, t *predictorTarget) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.preds[name] = t
}

// predictor returns name's target when it is a failure-prediction model,
// else nil.
func (u *updater) predictor(name string) *predictorTarget {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.preds[name]
}

// installPredictor validates a verified failure-prediction model off the
// sensor path and hands it to the pipeline, which swaps it in between
// batches; the assets keep their windows and alert states.
func (u *updater) installPredictor(m *update.Manifest, path string) {
	name := m.Name
	t := u.predictor(name)
	u.setState(name, func(s *modelState) { s.State, s.Staged = stateValidating, m.Version })
	start := time.Now()
	p, err := u.loadPredictor(name, path, m.Version)
	if err != nil {
		u.fail(name, m, fmt.Errorf("validation: %w", err), true)
		return
	}
	old := u.state(name).Serving
	if err := t.host.swapPredictor(name, p, m.Version); err != nil {
		p.Close()
		u.fail(name, m, fmt.Errorf("swap: %w", err), false)
		return
	}
	if err := u.store.SetPointers(name, update.Pointers{Current: m.Version, Previous: old}); err != nil {
		u.log.Error("serving version not recorded; a restart serves the one before", "model", name, "err", err)
	}
	if err := u.store.Prune(name, m.Version, old); err != nil {
		u.log.Warn("old model versions not removed", "model", name, "err", err)
	}
	swap := time.Since(start)
	u.log.Info("model version serving", "model", name, "version", m.Version, "previous", old, "swap_ms", ms(swap))
	u.probation[name] = &probation{version: m.Version, until: time.Now().Add(u.cfg.Rollback.Window.Std())}
	u.setState(name, func(s *modelState) {
		s.Serving, s.Previous, s.Staged = m.Version, old, ""
		s.State, s.LastError, s.SwapMS = stateProbation, "", ms(swap)
		s.Received, s.Chunks = 0, 0
	})
}

// loadPredictor loads path as version of the failure-prediction model name
// and checks that it can take the serving model's place: same task, window,
// features in the same order, grid and normalisation (the assets' windows
// are kept), and a finite output for a batch of zero (normalised) windows.
func (u *updater) loadPredictor(name, path, version string) (*inference.Predictor, error) {
	t := u.predictor(name)
	serving, maxBatch, err := t.host.servingPredictor(name)
	if err != nil {
		return nil, err
	}
	opts := t.opts
	opts.Overrides = maps.Clone(t.opts.Overrides)
	if opts.Overrides == nil {
		opts.Overrides = map[string]string{}
	}
	opts.Overrides["version"] = version
	opts.MaxBatch = maxBatch
	p, err := inference.LoadPredictor(path, opts)
	if err != nil {
		return nil, err
	}
	if err := samePredictorContract(serving, p.Metadata()); err != nil {
		p.Close()
		return nil, err
	}
	for i := range maxBatch {
		clear(p.Window(i))
	}
	out, err := p.Run(maxBatch)
	if err == nil && !finite(out) {
		err = fmt.Errorf("smoke inference on %d zero windows gave a non-finite p_fail %v", maxBatch, out)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// samePredictorContract returns why a new model cannot serve the assets of
// the serving one, or nil.
func samePredictorContract(serving, next inference.Metadata) error {
	switch {
	case next.Task != serving.Task:
		return fmt.Errorf("task %q differs from the serving model's %q", next.Task, serving.Task)
	case !slices.Equal(next.Features, serving.Features):
		return fmt.Errorf("features %v differ from the serving model's %v (same features in the same order required)", next.Features, serving.Features)
	case next.Window != serving.Window:
		return fmt.Errorf("window %d differs from the serving model's %d", next.Window, serving.Window)
	case next.PeriodS != serving.PeriodS || next.StrideS != serving.StrideS:
		return fmt.Errorf("period_s/stride_s %g/%g differ from the serving model's %g/%g",
			next.PeriodS, next.StrideS, serving.PeriodS, serving.StrideS)
	case !slices.Equal(next.FeatureMean, serving.FeatureMean) || !slices.Equal(next.FeatureStd, serving.FeatureStd):
		return fmt.Errorf("feature_mean/feature_std differ from the serving model's (the kept windows are normalised with them)")
	}
	return nil
}

// swapTo loads version at path and swaps it in: a predictor for a
// failure-prediction model, a classifier per worker for a camera model.
func (u *updater) swapTo(name, path, version string) error {
	if t := u.predictor(name); t != nil {
		p, err := u.loadPredictor(name, path, version)
		if err != nil {
			return fmt.Errorf("previous version %s: %w", version, err)
		}
		if err := t.host.swapPredictor(name, p, version); err != nil {
			p.Close()
			return err
		}
		return nil
	}
	clfs, err := u.reg.Load(name, path, version)
	if err != nil {
		return fmt.Errorf("previous version %s: %w", version, err)
	}
	_, err = u.reg.Swap(name, clfs, version, swapWait)
	return err
}

// judge returns why version must be rolled back, or "": too many failed
// batches (inference errors or non-finite outputs).
func (t *predictorTarget) judge(name, version string, maxErrors int) string {
	batches, failed := t.host.batchCounts(name, version)
	if failed >= uint64(maxErrors) {
		return fmt.Sprintf("%d inference errors or non-finite outputs in %d batches within the probation window (limit %d)",
			failed, batches, maxErrors)
	}
	return ""
}

// batchStats counts a model's batches and failed batches since its current
// version was swapped in. The pipeline writes it, the updater reads it.
type batchStats struct {
	mu              sync.Mutex
	version         string
	batches, failed uint64
}

// observe counts one batch of version and returns its error: err, or one
// for a non-finite output.
func (s *batchStats) observe(version string, out []float32, err error) error {
	if err == nil && !finite(out) {
		err = fmt.Errorf("predict: non-finite p_fail in %v", out)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version != version {
		s.version, s.batches, s.failed = version, 0, 0
	}
	s.batches++
	if err != nil {
		s.failed++
	}
	return err
}

// counts returns the batches and failed batches of version.
func (s *batchStats) counts(version string) (batches, failed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version != version {
		return 0, 0
	}
	return s.batches, s.failed
}
