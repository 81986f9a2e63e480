package agent

import (
	"sync"
	"time"
)

// timeline maps the sample times of one model's assets to machine time,
// for machines whose own time runs time_scale times faster than the clock
// that stamps their samples: a simulator served over a real protocol at a
// speed factor (lineside sim plc --speed, sim:// with speed).
//
// The mapping is anchored at the first sample the model sees: that
// sample's time maps to the grid instant nearest to it, and every later
// time t to anchor + (t − first)·scale, placed on the nearest grid instant.
// A simulator samples its machines on the model's grid, so its samples land
// exactly on grid instants again, whatever the wall-clock instant its
// simulated time started at. Snapping absorbs what the clock adds: the
// rounding of source timestamps (100 ns in OPC UA, multiplied by the
// scale) and, for protocols without timestamps (Modbus), the delay between
// a value's instant and its read, as long as that stays under half a
// period of machine time.
//
// Published health events carry the wall-clock time of their window's end
// (the inverse mapping), so they line up with the rest of the device's
// records; only windows, grid instants and the tolerance run on machine
// time. At scale 1 the mapping is the identity and nothing is snapped.
type timeline struct {
	scale  float64
	period int64 // grid period, ns

	mu     sync.Mutex
	set    bool
	first  time.Time // wall-clock time of the anchor sample
	anchor int64     // its grid instant, ns since the epoch
}

// newTimeline returns the timeline of a model sampled every period whose
// assets run at scale.
func newTimeline(scale float64, period time.Duration) *timeline {
	return &timeline{scale: scale, period: int64(period)}
}

// machine maps a sample time to machine time, anchoring the timeline at
// the first call.
func (tl *timeline) machine(t time.Time) time.Time {
	if tl.scale == 1 {
		return t
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if !tl.set {
		tl.set, tl.first, tl.anchor = true, t, roundTo(t.UnixNano(), tl.period)
	}
	m := tl.anchor + int64(float64(t.Sub(tl.first))*tl.scale)
	return time.Unix(0, roundTo(m, tl.period)).UTC()
}

// wall maps a machine time back to the wall-clock time of its samples.
func (tl *timeline) wall(m time.Time) time.Time {
	if tl.scale == 1 {
		return m
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if !tl.set {
		return m
	}
	return tl.first.Add(time.Duration(float64(m.UnixNano()-tl.anchor) / tl.scale))
}

// roundTo rounds ns to the nearest multiple of p.
func roundTo(ns, p int64) int64 {
	q := ns / p
	if ns%p < 0 {
		q--
	}
	if ns-q*p >= p-(ns-q*p) {
		q++
	}
	return q * p
}
