package agent

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lineside/lineside/camera"
)

// Defaults of the per-camera gating, flow control and snapshot keys.
const (
	// DefaultCameraQueue is cameras[].queue.
	DefaultCameraQueue = 2
	// DefaultCameraEveryNth is cameras[].every_nth.
	DefaultCameraEveryNth = 1
	// DefaultMotionThreshold is cameras[].motion.threshold.
	DefaultMotionThreshold = camera.DefaultMotionThreshold
	// DefaultMotionMinArea is cameras[].motion.min_area.
	DefaultMotionMinArea = camera.DefaultMotionMinArea
	// DefaultTriggerMode is cameras[].trigger.mode.
	DefaultTriggerMode = TriggerNone
	// DefaultTriggerWindow is cameras[].trigger.window.
	DefaultTriggerWindow = Duration(time.Second)
	// DefaultSnapshotMode is cameras[].snapshots.mode.
	DefaultSnapshotMode = SnapshotNever
	// DefaultSnapshotEveryN is cameras[].snapshots.every_n.
	DefaultSnapshotEveryN = 100
	// DefaultSnapshotQuality is cameras[].snapshots.quality.
	DefaultSnapshotQuality = 85
	// DefaultSnapshotMaxWidth is cameras[].snapshots.max_width.
	DefaultSnapshotMaxWidth = 640
)

// Trigger modes of cameras[].trigger.mode.
const (
	// TriggerNone infers frames without waiting for a trigger.
	TriggerNone = "none"
	// TriggerMQTT waits for a message on {base}/cmd/trigger.
	TriggerMQTT = "mqtt"
	// TriggerSensor waits for Agent.Trigger, called on a sensor point's
	// rising edge.
	TriggerSensor = "sensor"
)

// Snapshot modes of cameras[].snapshots.mode.
const (
	// SnapshotNever sends no evidence images.
	SnapshotNever = "never"
	// SnapshotOnDefect sends the frame of every defect.
	SnapshotOnDefect = "on_defect"
	// SnapshotEveryN sends every n-th inferred frame, defect or not.
	SnapshotEveryN = "every_n"
)

// Limits of the per-camera keys.
const (
	maxCameraQueue       = 100
	minSnapshotMaxWidth  = 16
	maxSnapshotMaxWidth  = 8192
	maxMotionThreshold   = 255
	maxSnapshotQualityPc = 100
)

var (
	triggerModes  = []string{TriggerNone, TriggerMQTT, TriggerSensor}
	snapshotModes = []string{SnapshotNever, SnapshotOnDefect, SnapshotEveryN}
)

// MotionConfig is a camera's motion gate: frames that barely differ from the
// previous one looked at are not inferred.
type MotionConfig struct {
	// Enabled turns the motion gate on. Default: false.
	Enabled bool `mapstructure:"enabled"`
	// Threshold is the gray-level difference, 1 to 255, from which a pixel
	// counts as changed. Default: 25 (DefaultMotionThreshold).
	Threshold float64 `mapstructure:"threshold"`
	// MinArea is the share of the frame, 0 to 1, that must change.
	// Default: 0.01 (DefaultMotionMinArea).
	MinArea float64 `mapstructure:"min_area"`
}

// TriggerConfig makes a camera infer only after an external trigger.
type TriggerConfig struct {
	// Mode is none, mqtt (a message on {base}/cmd/trigger, optionally
	// {"camera":"cam1"}) or sensor (a sensor point's rising edge, through
	// Agent.Trigger). Default: none (DefaultTriggerMode).
	Mode string `mapstructure:"mode"`
	// Window is how long after a trigger frames are inferred, above 0.
	// Default: 1s (DefaultTriggerWindow).
	Window Duration `mapstructure:"window"`
}

// SnapshotConfig selects the frames sent as JPEG evidence on
// {base}/snapshots/{id}.
type SnapshotConfig struct {
	// Mode is never, on_defect or every_n. Default: never
	// (DefaultSnapshotMode).
	Mode string `mapstructure:"mode"`
	// EveryN is n for mode every_n, at least 1. Default: 100
	// (DefaultSnapshotEveryN).
	EveryN int `mapstructure:"every_n"`
	// Quality is the JPEG quality, 1 to 100. Default: 85
	// (DefaultSnapshotQuality).
	Quality int `mapstructure:"quality"`
	// MaxWidth scales wider frames down to this width, keeping the aspect
	// ratio, 16 to 8192. Default: 640 (DefaultSnapshotMaxWidth).
	MaxWidth int `mapstructure:"max_width"`
}

// setVisionDefaults fills in the defaults of the gating, flow control and
// snapshot keys of a camera entry.
func (c *CameraConfig) setVisionDefaults() {
	c.Queue = DefaultCameraQueue
	c.EveryNth = DefaultCameraEveryNth
	c.Motion = MotionConfig{Threshold: DefaultMotionThreshold, MinArea: DefaultMotionMinArea}
	c.Trigger = TriggerConfig{Mode: DefaultTriggerMode, Window: DefaultTriggerWindow}
	c.Snapshots = SnapshotConfig{
		Mode:     DefaultSnapshotMode,
		EveryN:   DefaultSnapshotEveryN,
		Quality:  DefaultSnapshotQuality,
		MaxWidth: DefaultSnapshotMaxWidth,
	}
}

// GateConfig returns the camera's frame gate settings.
func (c *CameraConfig) GateConfig() camera.GateConfig {
	return camera.GateConfig{
		EveryNth: c.EveryNth,
		MaxRate:  c.MaxRate,
		Motion: camera.MotionConfig{
			Enabled:   c.Motion.Enabled,
			Threshold: c.Motion.Threshold,
			MinArea:   c.Motion.MinArea,
		},
		Triggered:     c.Trigger.Mode != TriggerNone,
		TriggerWindow: c.Trigger.Window.Std(),
	}
}

// validateVision checks the gating, flow control and snapshot keys of the
// camera at path.
func (v *validator) validateVision(path string, c *CameraConfig) {
	v.intRange(path+".queue", c.Queue, 1, maxCameraQueue)
	if c.EveryNth < 1 {
		v.add(path+".every_nth", strconv.Itoa(c.EveryNth), "is not >= 1")
	}
	if !(c.MaxRate >= 0 && c.MaxRate <= maxCameraFPS) {
		v.add(path+".max_rate", strconv.FormatFloat(c.MaxRate, 'g', -1, 64), "is not between 0 (unlimited) and %d", maxCameraFPS)
	}
	if !(c.Motion.Threshold >= 1 && c.Motion.Threshold <= maxMotionThreshold) {
		v.add(path+".motion.threshold", strconv.FormatFloat(c.Motion.Threshold, 'g', -1, 64), "is not between 1 and %d", maxMotionThreshold)
	}
	if !(c.Motion.MinArea >= 0 && c.Motion.MinArea <= 1) {
		v.add(path+".motion.min_area", strconv.FormatFloat(c.Motion.MinArea, 'g', -1, 64), "is not between 0 and 1 (a share of the frame)")
	}
	if !slices.Contains(triggerModes, c.Trigger.Mode) {
		v.add(path+".trigger.mode", strconv.Quote(c.Trigger.Mode), "is not one of %s", strings.Join(triggerModes, ", "))
	}
	v.positive(path+".trigger.window", c.Trigger.Window)
	s := &c.Snapshots
	if !slices.Contains(snapshotModes, s.Mode) {
		v.add(path+".snapshots.mode", strconv.Quote(s.Mode), "is not one of %s", strings.Join(snapshotModes, ", "))
	}
	if s.EveryN < 1 {
		v.add(path+".snapshots.every_n", strconv.Itoa(s.EveryN), "is not >= 1")
	}
	v.intRange(path+".snapshots.quality", s.Quality, 1, maxSnapshotQualityPc)
	v.intRange(path+".snapshots.max_width", s.MaxWidth, minSnapshotMaxWidth, maxSnapshotMaxWidth)
}

func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(path, strconv.Itoa(n), "is not between %d and %d", lo, hi)
	}
}
