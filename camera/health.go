package camera

import (
	"time"
)

// State is a camera's health as reported in status and metrics.
//
// The driver moves a camera through these states:
//
//	starting ──frame──► streaming ◄──frame── stalled
//	   │                  │   └──no frame for StallTimeout──┘ │
//	   │ open fails       │ read fails                        │ read fails
//	   ▼                  ▼                                   ▼
//	 failed ◄─FailAfter─ reconnecting ◄────────────────────────┘
//	   └────────frame────────┴──────────► streaming
//
// A camera that never delivered a frame goes from starting straight to
// failed on its first open failure: there is nothing to reconnect to, and an
// operator wants to see at once that a new camera does not work. A camera
// that streamed and lost its source is reconnecting; after FailAfter
// consecutive failed attempts without a frame it is failed. Failed is not
// final: the driver keeps retrying with exponential backoff capped at
// BackoffMax, and the first frame makes it streaming again. Ended (a file
// without loop) and stopped (the agent is shutting down) are final.
type State string

// Camera states.
const (
	// StateStarting is the state before the first frame.
	StateStarting State = "starting"
	// StateStreaming means frames arrive (or, for an event-driven source
	// such as a folder, the source is healthy and idle).
	StateStreaming State = "streaming"
	// StateStalled means the source is open but no frame came for the stall
	// timeout; the pending read decides whether it recovers or reconnects.
	StateStalled State = "stalled"
	// StateReconnecting means the source was lost and is being reopened.
	StateReconnecting State = "reconnecting"
	// StateFailed means the camera never worked or its last FailAfter
	// reopen attempts failed; retries go on at up to BackoffMax.
	StateFailed State = "failed"
	// StateEnded means the source has no more frames (a file without loop).
	StateEnded State = "ended"
	// StateStopped means the camera was stopped with the agent.
	StateStopped State = "stopped"
)

// Health is a snapshot of one camera for status, metrics and logs.
type Health struct {
	// Name is the camera's name.
	Name string `json:"name"`
	// State is the current state.
	State State `json:"state"`
	// Reason says why the camera is not streaming, or what the last
	// skipped frame was; "" while all is well.
	Reason string `json:"reason,omitempty"`
	// Since is when the camera entered State.
	Since time.Time `json:"since"`
	// Reconnects counts reopen attempts after the first open.
	Reconnects uint64 `json:"reconnects"`
	// Frames counts frames delivered since start.
	Frames uint64 `json:"frames"`
	// Errors counts open, read and frame failures since start.
	Errors uint64 `json:"errors"`
	// LastFrame is when the last frame was delivered; zero before the first.
	LastFrame time.Time `json:"last_frame"`
	// LastError is the most recent failure, kept after recovery.
	LastError string `json:"last_error,omitempty"`
}

// Health returns a snapshot of the camera's state and counters. It is safe
// to call from any goroutine.
func (c *Camera) Health() Health {
	c.mu.Lock()
	h := c.health
	c.mu.Unlock()
	h.Name = c.cfg.Name
	h.Frames = c.frames.Load()
	h.Errors = c.errors.Load()
	if ns := c.lastFrame.Load(); ns != 0 {
		h.LastFrame = time.Unix(0, ns)
	}
	return h
}

// State returns the current state and why the camera is in it.
func (c *Camera) State() (State, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health.State, c.health.Reason
}

// Frames counts frames read since start.
func (c *Camera) Frames() uint64 { return c.frames.Load() }

// Errors counts open, read and frame failures since start.
func (c *Camera) Errors() uint64 { return c.errors.Load() }

// setState records a state change, logs it once (not per frame) and calls
// OnState. Only a change of state or reason counts as a change.
func (c *Camera) setState(s State, reason string) {
	c.mu.Lock()
	prev := c.health.State
	if prev == s && c.health.Reason == reason {
		c.mu.Unlock()
		return
	}
	if prev != s {
		c.health.Since = time.Now()
	}
	c.health.State, c.health.Reason = s, reason
	reconnects := c.health.Reconnects
	c.mu.Unlock()

	attrs := []any{"state", s, "previous", prev}
	if reconnects > 0 {
		attrs = append(attrs, "reconnects", reconnects)
	}
	if reason != "" {
		c.log.Warn("camera state", append(attrs, "reason", reason)...)
	} else {
		c.log.Info("camera state", attrs...)
	}
	if c.cfg.OnState != nil {
		c.cfg.OnState(c.Health())
	}
}

// fail records a failed open or read: the camera is failed when it never
// streamed or after FailAfter consecutive failures, reconnecting otherwise.
func (c *Camera) fail(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	c.failures++
	c.health.LastError = err.Error()
	state := StateReconnecting
	if c.health.State == StateStarting || c.health.State == StateFailed || c.failures >= c.cfg.FailAfter {
		state = StateFailed
	}
	c.mu.Unlock()
	c.setState(state, err.Error())
}

// badFrame records a frame the source skipped (ErrBadFrame); the camera
// stays in its state and LastError says what was skipped and why.
func (c *Camera) badFrame(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	repeated := c.health.LastError == err.Error()
	c.health.LastError = err.Error()
	c.mu.Unlock()
	if !repeated { // a skipped image is an event; the same failure again is not news
		c.log.Warn("frame skipped", "err", err)
	}
}

// alive records that the source delivered a frame or reported itself idle.
func (c *Camera) alive(frame bool) {
	now := time.Now().UnixNano()
	c.lastAlive.Store(now)
	if frame {
		c.lastFrame.Store(now)
	}
	c.mu.Lock()
	c.failures = 0
	streaming := c.health.State == StateStreaming && c.health.Reason == ""
	c.mu.Unlock()
	if !streaming {
		c.setState(StateStreaming, "")
	}
}

// reopening counts a reopen attempt.
func (c *Camera) reopening() {
	c.mu.Lock()
	c.health.Reconnects++
	c.mu.Unlock()
}

// checkStall marks a streaming camera stalled when nothing came for the
// stall timeout.
func (c *Camera) checkStall(now time.Time) {
	idle := now.Sub(time.Unix(0, c.lastAlive.Load()))
	if idle < c.cfg.StallTimeout {
		return
	}
	if st, _ := c.State(); st == StateStreaming {
		c.setState(StateStalled, "no frame for "+idle.Round(time.Millisecond).String())
	}
}
