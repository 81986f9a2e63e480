package agent

import (
	"strings"
	"testing"
	"time"
)

// loadCameraYAML loads a config whose one camera entry has the given extra
// keys (a YAML flow mapping body).
func loadCameraYAML(t *testing.T, extra string) (*Config, error) {
	t.Helper()
	doc := `device: {site: s, line: l, id: d}
models: {defect: {path: m.onnx}}
cameras:
  - {name: cam1, source: "file:///v.avi", model: defect` + extra + `}
`
	clearEnv(t)
	return load(t, doc)
}

func TestCameraVisionDefaults(t *testing.T) {
	cfg, err := loadCameraYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	if c.Queue != 2 || c.EveryNth != 1 || c.MaxRate != 0 {
		t.Fatalf("queue %d every_nth %d max_rate %g", c.Queue, c.EveryNth, c.MaxRate)
	}
	if c.Motion != (MotionConfig{Enabled: false, Threshold: 25, MinArea: 0.01}) {
		t.Fatalf("motion %+v", c.Motion)
	}
	if c.Trigger != (TriggerConfig{Mode: "none", Window: Duration(time.Second)}) {
		t.Fatalf("trigger %+v", c.Trigger)
	}
	if c.Snapshots != (SnapshotConfig{Mode: "never", EveryN: 100, Quality: 85, MaxWidth: 640}) {
		t.Fatalf("snapshots %+v", c.Snapshots)
	}
	g := c.GateConfig()
	if g.EveryNth != 1 || g.Triggered || g.Motion.Enabled {
		t.Fatalf("gate %+v", g)
	}
}

func TestCameraVisionValues(t *testing.T) {
	cfg, err := loadCameraYAML(t, `, queue: 5, every_nth: 3, max_rate: 2.5,
      motion: {enabled: true, threshold: 40, min_area: 0.05},
      trigger: {mode: mqtt, window: 500ms},
      snapshots: {mode: on_defect, every_n: 10, quality: 70, max_width: 320}`)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	g := c.GateConfig()
	if c.Queue != 5 || g.EveryNth != 3 || g.MaxRate != 2.5 || !g.Motion.Enabled || g.Motion.Threshold != 40 ||
		g.Motion.MinArea != 0.05 || !g.Triggered || g.TriggerWindow != 500*time.Millisecond {
		t.Fatalf("camera %+v gate %+v", c, g)
	}
	if c.Snapshots != (SnapshotConfig{Mode: "on_defect", EveryN: 10, Quality: 70, MaxWidth: 320}) {
		t.Fatalf("snapshots %+v", c.Snapshots)
	}
}

func TestCameraVisionRejects(t *testing.T) {
	tests := []struct{ extra, want string }{
		{", queue: 0", "cameras[0].queue: 0 is not between 1 and 100"},
		{", every_nth: 0", "cameras[0].every_nth: 0 is not >= 1"},
		{", max_rate: -1", "cameras[0].max_rate: -1 is not between 0"},
		{", motion: {enabled: yes please}", "cameras[0].motion.enabled"},
		{", motion: {threshold: 0}", "cameras[0].motion.threshold: 0 is not between 1 and 255"},
		{", motion: {min_area: 2}", "cameras[0].motion.min_area: 2 is not between 0 and 1"},
		{", motion: {treshold: 30}", "did you mean threshold?"},
		{", trigger: {mode: gpio}", `cameras[0].trigger.mode: "gpio" is not one of none, mqtt, sensor`},
		{", trigger: {window: 0s}", "cameras[0].trigger.window: 0s is not > 0"},
		{", snapshots: {mode: always}", `cameras[0].snapshots.mode: "always" is not one of never, on_defect, every_n`},
		{", snapshots: {every_n: 0}", "cameras[0].snapshots.every_n: 0 is not >= 1"},
		{", snapshots: {quality: 101}", "cameras[0].snapshots.quality: 101 is not between 1 and 100"},
		{", snapshots: {max_width: 8}", "cameras[0].snapshots.max_width: 8 is not between 16 and 8192"},
	}
	for _, tt := range tests {
		t.Run(tt.extra, func(t *testing.T) {
			_, err := loadCameraYAML(t, tt.extra)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
