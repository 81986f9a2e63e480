package camera

import (
	"fmt"
	"sync/atomic"
	"time"
)

// SkipReason says why a Gate kept a frame from inference.
type SkipReason int

// Skip reasons, in the order a Gate checks them.
const (
	// SkipTrigger: the camera waits for an external trigger and the frame is
	// not inside the window after one.
	SkipTrigger SkipReason = iota
	// SkipEveryNth: only every n-th captured frame is inferred.
	SkipEveryNth
	// SkipRate: the frame came sooner than the inference rate limit allows.
	SkipRate
	// SkipMotion: the frame differs too little from the last one looked at.
	SkipMotion

	numSkipReasons = int(SkipMotion) + 1
)

var skipNames = [numSkipReasons]string{"trigger", "every_nth", "rate", "motion"}

// String returns the reason as used in metrics: trigger, every_nth, rate or
// motion.
func (r SkipReason) String() string {
	if r >= 0 && int(r) < numSkipReasons {
		return skipNames[r]
	}
	return fmt.Sprintf("skip(%d)", int(r))
}

// SkipReasons lists every reason, in check order, for metrics that report a
// count per reason.
func SkipReasons() []SkipReason {
	return []SkipReason{SkipTrigger, SkipEveryNth, SkipRate, SkipMotion}
}

// DefaultTriggerWindow is how long after a trigger frames are inferred when
// GateConfig.TriggerWindow is zero.
const DefaultTriggerWindow = time.Second

// GateConfig selects which captured frames of a camera are worth an
// inference. The zero value (with EveryNth 0 read as 1) passes every frame.
type GateConfig struct {
	// EveryNth infers only frames whose capture number is a multiple of it.
	// 0 and 1 mean every frame.
	EveryNth int
	// MaxRate caps inferences per second, measured on capture times.
	// 0 means unlimited.
	MaxRate float64
	// Motion, when enabled, skips frames that barely differ from the last
	// frame the gate looked at.
	Motion MotionConfig
	// Triggered infers only frames captured within TriggerWindow after the
	// last call to Gate.Trigger.
	Triggered bool
	// TriggerWindow is how long one trigger opens the gate. Default 1s.
	TriggerWindow time.Duration
}

// Gate decides, frame by frame, whether a frame goes to inference, and counts
// every frame it keeps back by reason, so that no frame disappears unseen.
// Checks run cheapest first: trigger, every n-th, rate, then motion; the rate
// budget is only spent on frames that also pass the motion check.
//
// Admit is called by one goroutine (the camera's inference worker); Trigger
// and Skipped may be called from any goroutine.
type Gate struct {
	cfg    GateConfig
	period time.Duration // 1/MaxRate, 0 for unlimited
	next   time.Time     // earliest capture time the rate limit admits
	motion *motionDetector

	base    time.Time    // origin of trigger, with a monotonic reading
	trigger atomic.Int64 // ns after base of the last trigger, 0 for none
	skipped [numSkipReasons]atomic.Uint64
	passed  atomic.Uint64
}

// NewGate checks cfg and makes a Gate. Call Close when done with it.
func NewGate(cfg GateConfig) (*Gate, error) {
	switch {
	case cfg.EveryNth < 0:
		return nil, fmt.Errorf("gate: every_nth %d is negative", cfg.EveryNth)
	case cfg.MaxRate < 0:
		return nil, fmt.Errorf("gate: max_rate %g is negative", cfg.MaxRate)
	case cfg.TriggerWindow < 0:
		return nil, fmt.Errorf("gate: trigger window %s is negative", cfg.TriggerWindow)
	}
	if cfg.EveryNth == 0 {
		cfg.EveryNth = 1
	}
	if cfg.TriggerWindow == 0 {
		cfg.TriggerWindow = DefaultTriggerWindow
	}
	g := &Gate{cfg: cfg, base: time.Now()}
	if cfg.MaxRate > 0 {
		g.period = time.Duration(float64(time.Second) / cfg.MaxRate)
	}
	if cfg.Motion.Enabled {
		m, err := newMotionDetector(cfg.Motion)
		if err != nil {
			return nil, fmt.Errorf("gate: %w", err)
		}
		g.motion = m
	}
	return g, nil
}

// Admit reports whether f should be inferred; when not, it counts the frame
// under the first reason that applies. It uses f.Seq for every-n-th and
// f.Time for the rate limit and the trigger window, and reads f.Mat only for
// the motion check. Steady-state calls allocate nothing.
func (g *Gate) Admit(f *Frame) bool {
	if g.cfg.Triggered && !g.inWindow(f.Time) {
		return g.skip(SkipTrigger)
	}
	if g.cfg.EveryNth > 1 && f.Seq%uint64(g.cfg.EveryNth) != 0 {
		return g.skip(SkipEveryNth)
	}
	if g.period > 0 && f.Time.Before(g.next.Add(-g.period/8)) {
		return g.skip(SkipRate)
	}
	if g.motion != nil && !g.motion.moved(f.Mat) {
		return g.skip(SkipMotion)
	}
	if g.period > 0 {
		// The next slot follows this one's (or this frame's, when it came
		// late), so capture jitter does not lower the rate and an idle spell
		// does not become a burst. The check above admits a frame up to an
		// eighth of a period early, for capture times that jitter around the
		// slot.
		g.next = later(g.next, f.Time).Add(g.period)
	}
	g.passed.Add(1)
	return true
}

func (g *Gate) skip(r SkipReason) bool {
	g.skipped[r].Add(1)
	return false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// inWindow reports whether a frame captured at t falls within the window
// after the last trigger.
func (g *Gate) inWindow(t time.Time) bool {
	at := g.trigger.Load()
	if at == 0 {
		return false
	}
	d := t.Sub(g.base) - time.Duration(at)
	return d >= 0 && d <= g.cfg.TriggerWindow
}

// Trigger opens the gate for frames captured during the trigger window from
// now on; a trigger inside an open window extends it. It is a no-op for a
// gate that does not wait for triggers. Safe for concurrent use.
func (g *Gate) Trigger() {
	if !g.cfg.Triggered {
		return
	}
	// A trigger at the very instant of base would read as "none"; 1ns later
	// is the same moment for any camera.
	g.trigger.Store(int64(max(time.Since(g.base), 1)))
}

// Triggered reports whether the gate waits for external triggers.
func (g *Gate) Triggered() bool { return g.cfg.Triggered }

// Skipped returns how many frames were kept back for reason r.
func (g *Gate) Skipped(r SkipReason) uint64 {
	if r < 0 || int(r) >= numSkipReasons {
		return 0
	}
	return g.skipped[r].Load()
}

// Passed returns how many frames the gate admitted.
func (g *Gate) Passed() uint64 { return g.passed.Load() }

// Close frees the motion detector's OpenCV buffers. Admit must not be called
// afterwards.
func (g *Gate) Close() {
	if g.motion != nil {
		g.motion.close()
		g.motion = nil
	}
}
