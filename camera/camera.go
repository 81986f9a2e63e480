package camera

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"
)

// Defaults of Config.
const (
	// DefaultBackoffMin is Config.BackoffMin.
	DefaultBackoffMin = 500 * time.Millisecond
	// DefaultBackoffMax is Config.BackoffMax.
	DefaultBackoffMax = 30 * time.Second
	// DefaultFailAfter is Config.FailAfter.
	DefaultFailAfter = 3
	// MinStallTimeout is the least default stall timeout.
	MinStallTimeout = 2 * time.Second
	// StallPeriods is the default stall timeout in frame periods.
	StallPeriods = 5
	// DefaultStopGrace is Config.StopGrace.
	DefaultStopGrace = 5 * time.Second
)

// Config configures one Camera.
type Config struct {
	// Name identifies the camera in records, logs and status.
	Name string
	// FPS paces sources that read faster than real time (files, synthetic,
	// folders) and sets the default stall timeout.
	FPS float64
	// StallTimeout is how long the camera may go without a frame before it
	// is stalled. Default: StallPeriods frame periods, at least
	// MinStallTimeout (DefaultStallTimeout).
	StallTimeout time.Duration
	// BackoffMin is the first reopen delay after a failure (default 500ms).
	BackoffMin time.Duration
	// BackoffMax caps the exponential reopen delay (default 30s).
	BackoffMax time.Duration
	// FailAfter is how many consecutive failed attempts turn reconnecting
	// into failed (default 3).
	FailAfter int
	// StopGrace is how long Run waits at stop for a read blocked inside
	// OpenCV before it returns without it (default 5s).
	StopGrace time.Duration
	// OnState, if set, is called after every state change with the new
	// health. It may be called from the camera's reader and watchdog
	// goroutines and must not block.
	OnState func(Health)
}

// DefaultStallTimeout returns the stall timeout for a frame rate:
// StallPeriods frame periods, at least MinStallTimeout.
func DefaultStallTimeout(fps float64) time.Duration {
	if fps <= 0 {
		return MinStallTimeout
	}
	return max(MinStallTimeout, time.Duration(StallPeriods*float64(time.Second)/fps))
}

// Camera drives one Source: it opens it, reads frames into a Queue at the
// configured rate, watches for stalls, reopens the source with exponential
// backoff and jitter after failures, and tracks its health.
//
// Run starts a reader goroutine that alone calls the Source's Open, Read and
// Close, and watches it from the calling goroutine. OpenCV cannot abort a
// blocked read from another thread (closing a capture under a reader is a
// use-after-free), so the watchdog never touches the source: it marks the
// camera stalled as soon as frames stop, and each live source bounds its own
// reads (the stream source passes CAP_PROP_READ_TIMEOUT_MSEC to FFmpeg; V4L2
// has its select timeout), after which the reader reopens it. Should a read
// still be blocked when the camera stops, Run returns after StopGrace and the
// reader releases the source and its buffer when the read comes back. The
// reader decodes into a Mat of its own and swaps it into a queue frame, so a
// late read never writes into a frame the queue has already freed.
type Camera struct {
	cfg Config
	src Source
	log *slog.Logger

	mu       sync.Mutex
	health   Health
	failures int // consecutive failed attempts since the last frame

	frames    atomic.Uint64
	errors    atomic.Uint64
	lastFrame atomic.Int64 // unix ns of the last frame
	lastAlive atomic.Int64 // unix ns of the last frame or idle report

	pubMu   sync.Mutex
	qClosed bool
	// waiting reports the camera alive while a paced source waits for room
	// in the queue: it is held up by inference, not stalled.
	waiting func()
}

// New makes a Camera for src.
func New(cfg Config, src Source, log *slog.Logger) *Camera {
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	if cfg.FailAfter <= 0 {
		cfg.FailAfter = DefaultFailAfter
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout(cfg.FPS)
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	c := &Camera{cfg: cfg, src: src, log: log.With("camera", cfg.Name)}
	c.waiting = func() { c.alive(false) }
	c.health = Health{State: StateStarting, Since: time.Now()}
	return c
}

// Name returns the camera's name.
func (c *Camera) Name() string { return c.cfg.Name }

// paced is implemented by sources that read faster than real time (files,
// folders, the simulator). They are slowed to the configured fps, and their
// frames do not go stale while they wait, so when inference is behind the
// camera waits for room in the queue instead of dropping frames: every image
// of a folder is inferred once, and a file read unpaced goes as fast as
// inference, without decoding frames only to drop them. Live sources (V4L2,
// streams, GStreamer) keep reading and the queue drops the oldest frame.
type paced interface{ Paced() bool }

// Run reads frames into q until ctx ends or the source ends, then closes q so
// that the consumer drains what is queued. It always returns nil.
func (c *Camera) Run(ctx context.Context, q *Queue) error {
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	c.lastAlive.Store(time.Now().UnixNano())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.read(rctx, q)
	}()

	tick := time.NewTicker(max(c.cfg.StallTimeout/8, 10*time.Millisecond))
	defer tick.Stop()
watch:
	for {
		select {
		case <-ctx.Done():
			break watch
		case <-done:
			break watch
		case now := <-tick.C:
			c.checkStall(now)
		}
	}
	stop()
	select {
	case <-done:
	case <-time.After(c.cfg.StopGrace):
		c.log.Warn("camera read still blocked at stop; the source is released when it returns",
			"grace", c.cfg.StopGrace)
	}
	c.pubMu.Lock()
	c.qClosed = true
	q.Close()
	c.pubMu.Unlock()
	if st, _ := c.State(); st != StateEnded {
		c.setState(StateStopped, "")
	}
	return nil
}

// read is the reader goroutine: the only one to use the source.
func (c *Camera) read(ctx context.Context, q *Queue) {
	buf := gocv.NewMat()
	defer buf.Close()
	defer c.src.Close()
	var period time.Duration
	p, ok := c.src.(paced)
	lossless := ok && p.Paced()
	if lossless && c.cfg.FPS > 0 {
		period = time.Duration(float64(time.Second) / c.cfg.FPS)
	}
	backoff := c.cfg.BackoffMin
	retry := func(err error) bool {
		c.fail(err)
		ok := sleep(ctx, jitter(backoff))
		backoff = min(backoff*2, c.cfg.BackoffMax)
		return ok
	}
	open, opened := false, false
	next := time.Now()
	for ctx.Err() == nil {
		if !open {
			if opened {
				c.reopening()
			}
			opened = true
			if err := c.src.Open(); err != nil {
				if !retry(err) {
					return
				}
				continue
			}
			open = true
		}
		if period > 0 {
			if wait := time.Until(next); wait > 0 && !sleep(ctx, wait) {
				return
			}
			next = next.Add(period)
			if time.Since(next) > period { // fell behind: do not burst to catch up
				next = time.Now().Add(period)
			}
		}
		err := c.src.Read(&buf)
		switch {
		case err == nil:
			if !c.publish(ctx, q, &buf, lossless) {
				return
			}
			backoff = c.cfg.BackoffMin
			c.alive(true)
		case errors.Is(err, ErrNoFrame):
			c.alive(false)
		case errors.Is(err, ErrBadFrame):
			c.badFrame(err)
		case errors.Is(err, ErrEndOfStream):
			c.setState(StateEnded, "")
			return
		default:
			c.src.Close()
			open = false
			if !retry(err) {
				return
			}
		}
	}
}

// publish swaps the decoded image into a queue frame and hands it over,
// waiting for room when wait is set (paced sources; the camera stays
// streaming meanwhile) and dropping the oldest queued frame otherwise. It
// reports false once ctx has ended (the reader's context, cancelled before
// Run closes the queue) or the queue is closed.
func (c *Camera) publish(ctx context.Context, q *Queue, buf *gocv.Mat, wait bool) bool {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if c.qClosed {
		return false
	}
	var f *Frame
	if wait {
		if f = q.AcquireWait(ctx.Done(), c.cfg.StallTimeout/2, c.waiting); f == nil {
			return false
		}
	} else {
		f = q.Acquire()
	}
	f.Mat, *buf = *buf, f.Mat
	f.Camera = c.cfg.Name
	f.Seq = c.frames.Add(1)
	f.Time = time.Now()
	if wait {
		return q.PublishWait(f, ctx.Done(), c.cfg.StallTimeout/2, c.waiting)
	}
	q.Publish(f)
	return true
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
