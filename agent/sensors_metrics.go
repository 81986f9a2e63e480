package agent

import (
	"errors"

	"github.com/lineside/lineside/sensors"
)

// errKinds names the kinds of sample errors counted per source, in the
// order of sensorSource.errs; a sample error of no listed kind counts as
// read_failed.
var errKinds = [...]struct {
	name string
	err  error
}{
	{"not_finite", sensors.ErrNotFinite},
	{"out_of_range", sensors.ErrOutOfRange},
	{"wrong_type", sensors.ErrWrongType},
	{"stale", sensors.ErrStale},
	{"malformed", sensors.ErrMalformed},
	{"no_such_point", sensors.ErrNoSuchPoint},
	{"read_failed", sensors.ErrReadFailed},
	{"dropout", sensors.ErrDropout},
}

// readFailedKind is the index of read_failed in errKinds.
const readFailedKind = 6

// countError counts a sample's error by kind against its source.
func (h *sensorHub) countError(s sensors.Sample) {
	src := h.bySource[s.Point]
	if src == nil {
		return
	}
	for i, k := range errKinds {
		if errors.Is(s.Err, k.err) {
			src.errs[i].Add(1)
			return
		}
	}
	src.errs[readFailedKind].Add(1)
}

// SensorMetrics are the sensor pipeline's counters for {base}/metrics and
// the Prometheus collector. Every counter runs from the agent's start.
type SensorMetrics struct {
	// Sources holds each sensor source's state and counters by name.
	Sources map[string]SourceMetrics `json:"sources"`
	// Assets holds each asset's window counters by name.
	Assets map[string]AssetMetrics `json:"assets"`
	// SamplesDropped counts samples lost because the pipeline's queue was
	// full.
	SamplesDropped uint64 `json:"samples_dropped"`
	// StoreFailed counts health and telemetry records the store refused.
	StoreFailed uint64 `json:"store_failed"`
}

// SourceMetrics are one sensor source's state and counters.
type SourceMetrics struct {
	// State is the source's state (connecting, connected, reconnecting,
	// failed, stopped).
	State string `json:"state"`
	// Reads counts good readings.
	Reads uint64 `json:"reads"`
	// ReadErrors counts failed or rejected readings, all kinds together.
	ReadErrors uint64 `json:"read_errors"`
	// Errors counts the failed or rejected readings by kind (not_finite,
	// out_of_range, wrong_type, stale, malformed, no_such_point,
	// read_failed, dropout); kinds never seen are left out.
	Errors map[string]uint64 `json:"errors"`
	// Reconnects counts successful reconnects after the first connect.
	Reconnects uint64 `json:"reconnects"`
}

// AssetMetrics are one asset's window counters.
type AssetMetrics struct {
	// Inferred counts windows the model ran on.
	Inferred uint64 `json:"windows_inferred"`
	// InsufficientData counts due windows not inferred because a feature
	// had a gap beyond the tolerance or the window was still filling.
	InsufficientData uint64 `json:"windows_insufficient_data"`
}

// SensorFigures returns the sensor pipeline's counters, or nil when the
// agent has no sensors. It is safe to call at any time from any goroutine.
func (a *Agent) SensorFigures() *SensorMetrics { return a.sensorHub().figures() }

// figures snapshots the hub's counters; nil for a nil hub.
func (h *sensorHub) figures() *SensorMetrics {
	if h == nil {
		return nil
	}
	m := &SensorMetrics{
		Sources:        make(map[string]SourceMetrics, len(h.sources)),
		Assets:         make(map[string]AssetMetrics, len(h.assets)),
		SamplesDropped: h.dropped.Load(),
		StoreFailed:    h.failed.Load(),
	}
	for _, s := range h.sources {
		hl := s.src.Health()
		sm := SourceMetrics{State: hl.State, Reads: hl.Reads, ReadErrors: hl.ReadErrors,
			Reconnects: hl.Reconnects, Errors: map[string]uint64{}}
		for i, k := range errKinds {
			if n := s.errs[i].Load(); n > 0 {
				sm.Errors[k.name] = n
			}
		}
		m.Sources[s.name] = sm
	}
	for _, a := range h.assets {
		m.Assets[a.name] = AssetMetrics{Inferred: a.inferred.Load(), InsufficientData: a.skipped.Load()}
	}
	return m
}
