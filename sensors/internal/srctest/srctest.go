// Package srctest runs sensor sources in tests and records what they emit
// and which states they pass through.
package srctest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
)

// Recorder collects samples and state changes; it is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	samples []sensors.Sample
	states  []string
}

// Emit records one sample; pass it to Source.Run.
func (r *Recorder) Emit(s sensors.Sample) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// OnState records a state change; pass it as sensors.Options.OnState.
func (r *Recorder) OnState(h sensors.Health) {
	r.mu.Lock()
	r.states = append(r.states, h.State)
	r.mu.Unlock()
}

// Samples returns the samples of one point ("" for all) recorded so far.
func (r *Recorder) Samples(point string) []sensors.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sensors.Sample
	for _, s := range r.samples {
		if point == "" || s.Point == point {
			out = append(out, s)
		}
	}
	return out
}

// Good returns the error-free samples of a point.
func (r *Recorder) Good(point string) []sensors.Sample {
	var out []sensors.Sample
	for _, s := range r.Samples(point) {
		if s.Err == nil {
			out = append(out, s)
		}
	}
	return out
}

// Bad returns the samples of a point whose error is target.
func (r *Recorder) Bad(point string, target error) []sensors.Sample {
	var out []sensors.Sample
	for _, s := range r.Samples(point) {
		if s.Err != nil && errors.Is(s.Err, target) {
			out = append(out, s)
		}
	}
	return out
}

// States returns the states passed through, in order.
func (r *Recorder) States() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.states...)
}

// Wait fails the test unless cond holds within timeout.
func Wait(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := testutil.WaitFor(timeout, cond); err != nil {
		t.Fatalf("waiting %v for %s: %v", timeout, what, err)
	}
}

// Start runs src in the background until the test ends, then checks that
// Run returned nil, promptly, and left the source stopped.
func Start(t testing.TB, src sensors.Source, r *Recorder) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, r.Emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10s of cancel")
		}
		if st := src.Health().State; st != sensors.StateStopped {
			t.Errorf("state after Run: %s, want stopped", st)
		}
	})
	return cancel
}
