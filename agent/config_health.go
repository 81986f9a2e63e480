package agent

import (
	"time"

	"github.com/lineside/lineside/camera"
)

// Defaults of the per-camera health keys.
const (
	// DefaultCameraStallTimeout is cameras[].stall_timeout: 0 means five
	// frame periods, at least 2s (camera.DefaultStallTimeout).
	DefaultCameraStallTimeout = Duration(0)
	// DefaultCameraBackoffMin is cameras[].backoff_min.
	DefaultCameraBackoffMin = Duration(camera.DefaultBackoffMin)
	// DefaultCameraBackoffMax is cameras[].backoff_max.
	DefaultCameraBackoffMax = Duration(camera.DefaultBackoffMax)
)

// Limits of the per-camera health keys.
const (
	minCameraStallTimeout = Duration(100 * time.Millisecond)
	minCameraBackoff      = Duration(10 * time.Millisecond)
	maxCameraBackoff      = Duration(time.Hour)
)

// setHealthDefaults fills in the stall and reconnect defaults of a camera.
func (c *CameraConfig) setHealthDefaults() {
	c.StallTimeout = DefaultCameraStallTimeout
	c.BackoffMin = DefaultCameraBackoffMin
	c.BackoffMax = DefaultCameraBackoffMax
}

// StallTimeoutStd returns the camera's stall timeout, resolving 0 to the
// default for its frame rate.
func (c *CameraConfig) StallTimeoutStd() time.Duration {
	if c.StallTimeout > 0 {
		return c.StallTimeout.Std()
	}
	return camera.DefaultStallTimeout(c.FPS)
}

// validateHealth checks the stall and reconnect keys of the camera at path.
func (v *validator) validateHealth(path string, c *CameraConfig) {
	if c.StallTimeout != 0 && c.StallTimeout < minCameraStallTimeout {
		v.add(path+".stall_timeout", c.StallTimeout.String(), "is not 0 (five frame periods, at least 2s) or at least %s", minCameraStallTimeout)
	}
	if c.BackoffMin < minCameraBackoff || c.BackoffMin > maxCameraBackoff {
		v.add(path+".backoff_min", c.BackoffMin.String(), "is not between %s and %s", minCameraBackoff, maxCameraBackoff)
	}
	if c.BackoffMax < c.BackoffMin || c.BackoffMax > maxCameraBackoff {
		v.add(path+".backoff_max", c.BackoffMax.String(), "is not between backoff_min (%s) and %s", c.BackoffMin, maxCameraBackoff)
	}
}
