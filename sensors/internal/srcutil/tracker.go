// Package srcutil holds what every sensor source shares: health tracking
// with state-change logging, once-per-kind point error reporting, reconnect
// backoff with jitter, and validation of URL parameters and point options.
package srcutil

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lineside/lineside/sensors"
)

// DefaultFailAfter is how many consecutive failed attempts turn a
// reconnecting source into a failed one.
const DefaultFailAfter = 3

// relogAfter is the least time between two log lines for the same point
// and kind of error, so that a flapping point cannot flood the log.
const relogAfter = 10 * time.Minute

// kinds are the sample error kinds told apart for logging.
var kinds = []error{
	sensors.ErrNotFinite, sensors.ErrOutOfRange, sensors.ErrWrongType, sensors.ErrStale,
	sensors.ErrMalformed, sensors.ErrNoSuchPoint, sensors.ErrReadFailed, sensors.ErrDropout,
}

type flagKey struct {
	point string
	kind  error
}

// Tracker keeps one source's health and counters. It logs every state
// change once and every point error once per point and kind until the
// point reads good again. All methods are safe for concurrent use.
type Tracker struct {
	log       *slog.Logger
	onState   func(sensors.Health)
	failAfter int

	mu        sync.Mutex
	h         sensors.Health
	connected bool // has been connected at least once
	failures  int  // consecutive failed attempts
	flagged   map[flagKey]bool
	logged    map[flagKey]time.Time

	reads, errs atomic.Uint64
}

// NewTracker returns a tracker in state connecting, logging through
// opts.Logger (or slog.Default()) scoped to the source.
func NewTracker(opts sensors.Options, kind string) *Tracker {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Tracker{
		log:       log.With("component", "sensors", "source", opts.Name, "kind", kind),
		onState:   opts.OnState,
		failAfter: DefaultFailAfter,
		h:         sensors.Health{State: sensors.StateConnecting, Since: time.Now()},
		flagged:   map[flagKey]bool{},
		logged:    map[flagKey]time.Time{},
	}
}

// Logger returns the source's scoped logger.
func (t *Tracker) Logger() *slog.Logger { return t.log }

// Health returns a snapshot of the state and counters.
func (t *Tracker) Health() sensors.Health {
	t.mu.Lock()
	h := t.h
	t.mu.Unlock()
	h.Reads, h.ReadErrors = t.reads.Load(), t.errs.Load()
	return h
}

// Connected records a successful (re)connect.
func (t *Tracker) Connected() {
	t.mu.Lock()
	if t.connected && t.h.State != sensors.StateConnected {
		t.h.Reconnects++
	}
	t.connected, t.failures = true, 0
	t.mu.Unlock()
	t.set(sensors.StateConnected, "")
}

// Lost records a failed connect attempt or a lost connection: reconnecting
// after a connection, failed if the source never connected or after
// DefaultFailAfter attempts in a row.
func (t *Tracker) Lost(err error) {
	t.mu.Lock()
	t.failures++
	state := sensors.StateReconnecting
	if !t.connected || t.failures > t.failAfter {
		state = sensors.StateFailed
	}
	t.mu.Unlock()
	t.set(state, err.Error())
}

// Failed records a configuration that cannot work.
func (t *Tracker) Failed(err error) { t.set(sensors.StateFailed, err.Error()) }

// Stopped records the end of Run.
func (t *Tracker) Stopped() { t.set(sensors.StateStopped, "") }

func (t *Tracker) set(state, reason string) {
	t.mu.Lock()
	prev := t.h.State
	if prev == state && t.h.Reason == reason {
		t.mu.Unlock()
		return
	}
	if prev != state {
		t.h.Since = time.Now()
	}
	t.h.State, t.h.Reason = state, reason
	h := t.h
	t.mu.Unlock()
	h.Reads, h.ReadErrors = t.reads.Load(), t.errs.Load()
	if prev == state {
		return // a new reason in the same state is not worth a log line
	}
	attrs := []any{"state", state, "previous", prev}
	if h.Reconnects > 0 {
		attrs = append(attrs, "reconnects", h.Reconnects)
	}
	if reason != "" {
		attrs = append(attrs, "reason", reason)
	}
	if state == sensors.StateFailed || state == sensors.StateReconnecting {
		t.log.Warn("sensor source state", attrs...)
	} else {
		t.log.Info("sensor source state", attrs...)
	}
	if t.onState != nil {
		t.onState(h)
	}
}

// Good emits a good sample and clears the point's error flags.
func (t *Tracker) Good(emit sensors.Emit, point string, ts time.Time, v float64) {
	t.reads.Add(1)
	t.mu.Lock()
	var cleared bool
	for k := range t.flagged {
		if k.point == point {
			delete(t.flagged, k)
			cleared = true
		}
	}
	t.mu.Unlock()
	if cleared {
		t.log.Info("sensor point recovered", "point", point)
	}
	emit(sensors.Sample{Point: point, Time: ts, Value: v})
}

// Bad emits a sample with err, counts it and logs it if it is the first of
// its kind for the point since the point last read good.
func (t *Tracker) Bad(emit sensors.Emit, point string, ts time.Time, err error) {
	t.errs.Add(1)
	k := flagKey{point: point, kind: kindOf(err)}
	now := time.Now()
	t.mu.Lock()
	first := !t.flagged[k]
	t.flagged[k] = true
	logIt := first && now.Sub(t.logged[k]) >= relogAfter
	if logIt {
		t.logged[k] = now
	}
	t.mu.Unlock()
	if logIt {
		t.log.Warn("sensor point flagged", "point", point, "error", err)
	}
	emit(sensors.Sample{Point: point, Time: ts, Value: 0, Err: err})
}

// Flagged reports whether the point currently has an error of err's kind.
func (t *Tracker) Flagged(point string, err error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.flagged[flagKey{point: point, kind: kindOf(err)}]
}

func kindOf(err error) error {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return sensors.ErrReadFailed
}
