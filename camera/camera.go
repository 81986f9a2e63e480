package camera

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// State is a camera's health as reported in status and metrics.
type State string

// Camera states.
const (
	StateStarting     State = "starting"
	StateStreaming    State = "streaming"
	StateReconnecting State = "reconnecting"
	StateFailed       State = "failed"
	StateEnded        State = "ended"
	StateStopped      State = "stopped"
)

// Config configures one Camera.
type Config struct {
	// Name identifies the camera in records, logs and status.
	Name string
	// FPS paces sources that read faster than real time (files, synthetic).
	FPS float64
	// BackoffMin is the first reopen delay after a failure (default 500ms).
	BackoffMin time.Duration
	// BackoffMax caps the exponential reopen delay (default 30s).
	BackoffMax time.Duration
}

// Camera drives one Source: it opens it, reads frames into a Queue at the
// configured rate, reopens it with exponential backoff and jitter after
// failures, and tracks its state.
type Camera struct {
	cfg Config
	src Source
	log *slog.Logger

	mu     sync.Mutex
	state  State
	reason string
	frames atomic.Uint64
	errors atomic.Uint64
}

// New makes a Camera for src.
func New(cfg Config, src Source, log *slog.Logger) *Camera {
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	return &Camera{cfg: cfg, src: src, log: log.With("camera", cfg.Name), state: StateStarting}
}

// Name returns the camera's name.
func (c *Camera) Name() string { return c.cfg.Name }

// State returns the current state and, for failures, why.
func (c *Camera) State() (State, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.reason
}

// Frames counts frames read since start.
func (c *Camera) Frames() uint64 { return c.frames.Load() }

// Errors counts open and read failures since start.
func (c *Camera) Errors() uint64 { return c.errors.Load() }

// setState records a state change and logs it once per change, not per frame.
func (c *Camera) setState(s State, reason string) {
	c.mu.Lock()
	changed := c.state != s || c.reason != reason
	c.state, c.reason = s, reason
	c.mu.Unlock()
	if !changed {
		return
	}
	if reason != "" {
		c.log.Warn("camera state", "state", s, "reason", reason)
	} else {
		c.log.Info("camera state", "state", s)
	}
}

// paced is implemented by sources that must be slowed to the configured fps.
type paced interface{ Paced() bool }

// Run reads frames into q until ctx ends or the source ends, then closes q so
// that the consumer drains what is queued. It always returns nil on ctx end.
func (c *Camera) Run(ctx context.Context, q *Queue) error {
	defer q.Close()
	defer c.src.Close()
	pace := false
	if p, ok := c.src.(paced); ok {
		pace = p.Paced()
	}
	var period time.Duration
	if pace && c.cfg.FPS > 0 {
		period = time.Duration(float64(time.Second) / c.cfg.FPS)
	}
	backoff := c.cfg.BackoffMin
	open := false
	next := time.Now()
	for ctx.Err() == nil {
		if !open {
			if err := c.src.Open(); err != nil {
				c.errors.Add(1)
				c.setState(StateFailed, err.Error())
				if !sleep(ctx, jitter(backoff)) {
					break
				}
				backoff = min(backoff*2, c.cfg.BackoffMax)
				continue
			}
			open = true
		}
		if period > 0 {
			if wait := time.Until(next); wait > 0 {
				if !sleep(ctx, wait) {
					break
				}
			}
			next = next.Add(period)
			if time.Since(next) > period { // fell behind: do not burst to catch up
				next = time.Now().Add(period)
			}
		}
		f := q.Acquire()
		err := c.src.Read(&f.Mat)
		if err != nil {
			q.Discard(f)
			if errors.Is(err, ErrEndOfStream) {
				c.setState(StateEnded, "")
				return nil
			}
			c.errors.Add(1)
			c.src.Close()
			open = false
			c.setState(StateReconnecting, err.Error())
			if !sleep(ctx, jitter(backoff)) {
				break
			}
			backoff = min(backoff*2, c.cfg.BackoffMax)
			continue
		}
		backoff = c.cfg.BackoffMin
		f.Camera = c.cfg.Name
		f.Seq = c.frames.Add(1)
		f.Time = time.Now()
		q.Publish(f)
		c.setState(StateStreaming, "")
	}
	c.setState(StateStopped, "")
	return nil
}

// jitter spreads d by ±20% so that many agents do not retry in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits for d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
