package inference

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latencyRing is how many recent inference latencies a Slot keeps per model
// for its median.
const latencyRing = 64

// Slot holds the Classifier that one worker goroutine serves and lets other
// goroutines hand it a replacement, which the worker takes between two
// frames: the frame in flight finishes on the old session, the next one runs
// on the new, and no frame waits for a model load. Classifier, Take, Observe
// and Close belong to the owning worker; Offer, Stats and Version are safe
// from any goroutine.
type Slot struct {
	cur *Classifier // owner only

	mu      sync.Mutex
	pending *Handoff
	closed  bool
	version string
	waiting atomic.Bool // pending != nil, read without the lock per frame

	frames, errors atomic.Uint64 // since the current model was taken
	ring           [latencyRing]atomic.Int64
	next           atomic.Uint64
	baseline       atomic.Int64 // median latency of the model before, ns
}

// Handoff is one replacement offered to a Slot.
type Handoff struct {
	clf     *Classifier
	version string
	offered time.Time
	served  chan struct{}
	at      time.Time // first frame on clf finished; valid once served is closed
}

// ErrSlotClosed is returned by Offer after the slot's worker stopped.
var ErrSlotClosed = errors.New("model slot closed")

// NewSlot returns a slot serving c as version.
func NewSlot(c *Classifier, version string) *Slot {
	return &Slot{cur: c, version: version}
}

// Classifier returns the classifier to use for the next frame. Owner only.
func (s *Slot) Classifier() *Classifier { return s.cur }

// Version returns the version being served (or taken next).
func (s *Slot) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Offer hands c, serving version, to the slot's worker, which swaps it in
// before its next frame and closes the old classifier. A replacement offered
// before the worker took the previous one supersedes it (the superseded one
// is closed). After Close the slot refuses (and closes) c.
func (s *Slot) Offer(c *Classifier, version string) (*Handoff, error) {
	h := &Handoff{clf: c, version: version, offered: time.Now(), served: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, ErrSlotClosed
	}
	if s.pending != nil {
		s.pending.clf.Close()
	}
	s.pending = h
	s.version = version
	s.waiting.Store(true)
	return h, nil
}

// Take swaps in a pending replacement, if any, and closes the classifier it
// replaces; it returns the hand-over taken, nil when there was none. Call it
// between frames. Owner only.
func (s *Slot) Take() *Handoff {
	if !s.waiting.Load() {
		return nil
	}
	s.mu.Lock()
	h := s.pending
	s.pending = nil
	s.waiting.Store(false)
	s.mu.Unlock()
	if h == nil {
		return nil
	}
	old := s.cur
	s.cur = h.clf
	s.baseline.Store(int64(s.median()))
	s.frames.Store(0)
	s.errors.Store(0)
	s.next.Store(0)
	for i := range s.ring {
		s.ring[i].Store(0)
	}
	if old != nil {
		old.Close()
	}
	return h
}

// Observe records the outcome of one frame on the current classifier: its
// latency, or the error. The first frame after a Take completes the
// hand-over. Owner only.
func (s *Slot) Observe(h *Handoff, latency time.Duration, err error) {
	s.frames.Add(1)
	if err != nil {
		s.errors.Add(1)
	} else {
		s.ring[s.next.Add(1)%latencyRing].Store(int64(latency))
	}
	if h != nil {
		h.at = time.Now()
		close(h.served)
	}
}

// Close closes the current classifier and any pending one, and refuses later
// offers. Owner only, after its last frame.
func (s *Slot) Close() {
	s.mu.Lock()
	s.closed = true
	if s.pending != nil {
		s.pending.clf.Close()
		s.pending = nil
	}
	s.mu.Unlock()
	if s.cur != nil {
		s.cur.Close()
	}
}

// SlotStats is what a Slot observed of the model it serves since it took it.
type SlotStats struct {
	// Version is the version served.
	Version string
	// Frames and Errors count inferences and failed inferences.
	Frames, Errors uint64
	// Median is the median latency of the last successful inferences.
	Median time.Duration
	// Baseline is the median latency of the model served before, 0 if none
	// was measured.
	Baseline time.Duration
}

// Stats returns the slot's figures for the model it serves.
func (s *Slot) Stats() SlotStats {
	return SlotStats{
		Version:  s.Version(),
		Frames:   s.frames.Load(),
		Errors:   s.errors.Load(),
		Median:   s.median(),
		Baseline: time.Duration(s.baseline.Load()),
	}
}

// median returns the median of the recorded latencies, 0 when none.
func (s *Slot) median() time.Duration {
	vals := make([]int64, 0, latencyRing)
	for i := range s.ring {
		if v := s.ring[i].Load(); v > 0 {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return 0
	}
	slices.Sort(vals)
	return time.Duration(vals[len(vals)/2])
}

// Served is closed when the first frame on the handed-over classifier has
// finished.
func (h *Handoff) Served() <-chan struct{} { return h.served }

// SwapTime returns the time from Offer to the end of the first frame on the
// new classifier; valid once Served is closed.
func (h *Handoff) SwapTime() time.Duration { return h.at.Sub(h.offered) }

// Version returns the version handed over.
func (h *Handoff) Version() string { return h.version }
