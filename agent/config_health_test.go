package agent

import (
	"strings"
	"testing"
	"time"
)

func TestCameraHealthKeys(t *testing.T) {
	cfg, err := loadCameraYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	if c.StallTimeout != 0 || c.BackoffMin.Std() != 500*time.Millisecond || c.BackoffMax.Std() != 30*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	if got := c.StallTimeoutStd(); got != 2*time.Second { // 10 fps: five periods are 0.5s, so the 2s floor
		t.Fatalf("default stall timeout at 10 fps: %s", got)
	}
	cfg, err = loadCameraYAML(t, ", fps: 1, backoff_min: 50ms, backoff_max: 2s")
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Cameras[0]; c.StallTimeoutStd() != 5*time.Second || c.BackoffMin.Std() != 50*time.Millisecond || c.BackoffMax.Std() != 2*time.Second {
		t.Fatalf("values: %+v, stall %s", c, c.StallTimeoutStd())
	}
	cfg, _ = loadCameraYAML(t, ", stall_timeout: 750ms")
	if got := cfg.Cameras[0].StallTimeoutStd(); got != 750*time.Millisecond {
		t.Fatalf("explicit stall timeout: %s", got)
	}

	for _, c := range []struct{ extra, want string }{
		{", stall_timeout: 10ms", "cameras[0].stall_timeout"},
		{", backoff_min: 1ms", "cameras[0].backoff_min"},
		{", backoff_min: 2s, backoff_max: 1s", "cameras[0].backoff_max"},
		{", backoff_max: 2h", "cameras[0].backoff_max"},
		{", stall_timout: 1s", "cameras[0].stall_timout: unknown key"},
	} {
		_, err := loadCameraYAML(t, c.extra)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.extra, err, c.want)
		}
	}
}
