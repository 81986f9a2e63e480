// Package assets turns sensor samples into the inputs and outputs of a
// failure-prediction model for one machine (an asset): samples aligned on
// the model's sampling grid with hold-last within a tolerance, windows due
// at the model's inference cadence, normalised as the model expects; the
// ok/warn/alarm state machine of the model card; per-point telemetry
// summaries; and the evaluation of a model over simulated lives.
//
// Everything runs on the samples' own timestamps, never on the wall clock,
// so a simulated machine whose time runs faster than real time yields the
// same windows as one sampled in real time.
package assets

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxFeatures is the most features a window may have (a bit mask holds
// which are missing).
const MaxFeatures = 64

// Spec describes the windows of one asset.
type Spec struct {
	// Features is the number of features per sample, in model order.
	Features int
	// Period is the sampling grid (lineside.period_s); grid instants are the
	// multiples of Period since the Unix epoch.
	Period time.Duration
	// Window is the number of grid samples per window (lineside.window).
	Window int
	// Stride is the inference cadence in grid time (lineside.stride_s): a
	// window is due at every grid instant that is a multiple of Stride.
	// It is rounded to a whole number of periods, at least one.
	Stride time.Duration
	// Tolerance is how old a feature's last good value may be at a grid
	// instant and still be used for it (hold-last); older is a gap.
	Tolerance time.Duration
	// Mean and Std normalise each feature: x' = (x − Mean) / Std. Empty
	// means 0 and 1.
	Mean, Std []float64
}

// Validate reports the first setting that cannot work.
func (s Spec) Validate() error {
	switch {
	case s.Features < 1 || s.Features > MaxFeatures:
		return fmt.Errorf("features %d: want 1 to %d", s.Features, MaxFeatures)
	case s.Period <= 0:
		return fmt.Errorf("period %v: must be positive", s.Period)
	case s.Window < 1:
		return fmt.Errorf("window %d: must be at least 1", s.Window)
	case s.Stride < 0 || s.Tolerance < 0:
		return fmt.Errorf("stride %v, tolerance %v: must not be negative", s.Stride, s.Tolerance)
	case len(s.Mean) != 0 && len(s.Mean) != s.Features, len(s.Std) != 0 && len(s.Std) != s.Features:
		return fmt.Errorf("%d means and %d stds for %d features", len(s.Mean), len(s.Std), s.Features)
	}
	for _, v := range s.Std {
		if !(v > 0) {
			return errors.New("feature std must be positive")
		}
	}
	return nil
}

// Due is a window that fell due at a grid instant.
type Due struct {
	// End is the grid instant of the window's last sample.
	End time.Time
	// Ready means every sample of the window has every feature within the
	// tolerance: Fill gives its input. Otherwise the window must not be
	// inferred: it is insufficient data.
	Ready bool
	// Missing has bit f set for each feature with a gap in the window (or
	// that has never had a good value).
	Missing uint64
	// Rows is the number of grid samples available, at most Window; fewer
	// means the window is still filling (after start or a reset).
	Rows int
}

// sample is one good reading held for hold-last.
type sample struct {
	t  time.Time
	v  float64
	ok bool
}

// Windower aligns one asset's samples on the grid and yields its due
// windows. It is not safe for concurrent use.
type Windower struct {
	spec       Spec
	stride     int64 // in periods
	period     int64 // ns
	settle     time.Duration
	next       int64 // grid index of the next row to finalise
	started    bool  // next is set: a sample has come
	held       []sample
	ahead      []sample
	seen       []time.Time // latest sample, good or not, per feature
	rows       []float32   // ring of Window×Features normalised values
	missing    []uint64    // ring of per-row missing masks
	head, fill int
	scale      []float32 // 1/std
	offset     []float32 // mean
}

// NewWindower returns a Windower for spec.
func NewWindower(spec Spec) (*Windower, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	f := spec.Features
	w := &Windower{
		spec:    spec,
		stride:  max(1, int64(math.Round(float64(spec.Stride)/float64(spec.Period)))),
		period:  int64(spec.Period),
		settle:  spec.Period / 2,
		held:    make([]sample, f),
		ahead:   make([]sample, f),
		seen:    make([]time.Time, f),
		rows:    make([]float32, spec.Window*f),
		missing: make([]uint64, spec.Window),
		scale:   make([]float32, f),
		offset:  make([]float32, f),
	}
	for i := range f {
		w.scale[i] = 1
		if len(spec.Std) > 0 {
			w.scale[i] = float32(1 / spec.Std[i])
		}
		if len(spec.Mean) > 0 {
			w.offset[i] = float32(spec.Mean[i])
		}
	}
	return w, nil
}

// Spec returns the windows' description.
func (w *Windower) Spec() Spec { return w.spec }

// Add records one reading of feature f taken at t; good is false for a
// reading that failed (its value is ignored, but it shows the feature's
// source is past t). Readings of one feature must come in time order.
func (w *Windower) Add(f int, t time.Time, v float64, good bool) {
	if t.After(w.seen[f]) {
		w.seen[f] = t
	}
	if !w.started {
		w.next, w.started = ceilDiv(t.UnixNano(), w.period), true
	}
	if !good || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s := sample{t: t, v: v, ok: true}
	if t.UnixNano() <= w.next*w.period {
		if !w.held[f].ok || !t.Before(w.held[f].t) {
			w.held[f] = s
		}
	} else if !w.ahead[f].ok || !t.Before(w.ahead[f].t) {
		w.ahead[f] = s
	}
}

// Advance finalises every grid row that is complete — every feature has
// a reading at or after its instant, or clock (the latest sample time seen
// across all sources) is half a period past it — and calls due for each
// window that falls due, in time order. Within due, Fill gives the window.
func (w *Windower) Advance(clock time.Time, due func(Due)) {
	for w.started && w.complete(clock) {
		idx := w.next
		g := idx * w.period
		w.finalise(g)
		w.next++
		if idx%w.stride == 0 && due != nil {
			due(w.due(g))
		}
		for f := range w.ahead {
			if a := w.ahead[f]; a.ok && a.t.UnixNano() <= w.next*w.period {
				w.held[f], w.ahead[f] = a, sample{}
			}
		}
	}
}

// complete reports whether the row at w.next can be finalised.
func (w *Windower) complete(clock time.Time) bool {
	g := time.Unix(0, w.next*w.period)
	if !clock.Before(g.Add(w.settle)) {
		return true
	}
	for _, s := range w.seen {
		if s.Before(g) {
			return false
		}
	}
	return true
}

// finalise writes the row of grid instant g (ns since the epoch).
func (w *Windower) finalise(g int64) {
	nf := w.spec.Features
	row := w.rows[w.head*nf : (w.head+1)*nf]
	var miss uint64
	tol := int64(w.spec.Tolerance)
	for f := range nf {
		h := w.held[f]
		if !h.ok || g-h.t.UnixNano() > tol {
			miss |= 1 << f
			row[f] = 0
			continue
		}
		row[f] = (float32(h.v) - w.offset[f]) * w.scale[f]
	}
	w.missing[w.head] = miss
	w.head = (w.head + 1) % w.spec.Window
	w.fill = min(w.fill+1, w.spec.Window)
}

// due describes the window ending at grid instant g, just finalised.
func (w *Windower) due(g int64) Due {
	d := Due{End: time.Unix(0, g).UTC(), Rows: w.fill}
	for i := range w.fill {
		d.Missing |= w.missing[i]
	}
	if w.fill < w.spec.Window {
		d.Missing |= 1<<w.spec.Features - 1
	}
	d.Ready = d.Missing == 0
	return d
}

// Fill copies the current window into dst (Window×Features values, oldest
// sample first), normalised. Call it from the due callback of a Ready
// window; dst must hold Window×Features values.
func (w *Windower) Fill(dst []float32) {
	nf := w.spec.Features
	n := copy(dst, w.rows[w.head*nf:])
	copy(dst[n:], w.rows[:w.head*nf])
}

// ceilDiv is ⌈a/b⌉ for b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
