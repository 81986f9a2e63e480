package agent

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors/assets"
	"github.com/lineside/lineside/sensors/sim"
)

// reloadSensorsConfig is one simulated machine watched by the pdm model.
func reloadSensorsConfig(t *testing.T) *Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Device = DeviceConfig{Site: "s", Line: "l", ID: "d"}
	cfg.Models = map[string]ModelConfig{"pdm": {Path: testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx"),
		Metadata: map[string]string{"threshold.warn": "0.3"}}}
	cfg.Sensors = []SensorConfig{{Name: "m1", Source: "sim://motor?seed=1&speed=3600",
		Interval: DefaultSensorInterval, Timeout: DefaultSensorTimeout}}
	features := map[string]string{}
	for _, f := range sim.Features {
		cfg.Sensors[0].Points = append(cfg.Sensors[0].Points, PointConfig{Name: "m1_" + f, Address: f})
		features[f] = "m1_" + f
	}
	cfg.Assets = []AssetConfig{{Name: "m1", Model: "pdm", Features: features, K: 3, TimeScale: 3600}}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	return cfg
}

// TestReloadSensorsPlans checks what a reload does to a running sensor
// pipeline: thresholds change in place on the same windows and alert,
// other changes build a new pipeline, and a model that does not load is
// refused with the running pipeline untouched.
func TestReloadSensorsPlans(t *testing.T) {
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	cur := reloadSensorsConfig(t)
	a := New(cur, slog.New(slog.DiscardHandler))
	if err := a.addSensorsTo(&memStore{}); err != nil {
		t.Fatal(err)
	}
	a.startSensors()
	defer a.closeSensors()
	defer a.stopSensors()
	hub := a.sensorHub()
	win, alert := hub.assets[0].win, hub.assets[0].alert

	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		restart bool
		want    assets.Thresholds // in force after the reload, when not restarted
		err     string
	}{
		{"unchanged", func(*Config) {}, false, assets.Thresholds{Warn: 0.3, Alarm: alert.Thresholds().Alarm, K: 3}, ""},
		{"asset levels", func(c *Config) { c.Assets[0].Warn, c.Assets[0].Alarm, c.Assets[0].K = 0.2, 0.4, 1 },
			false, assets.Thresholds{Warn: 0.2, Alarm: 0.4, K: 1}, ""},
		{"model metadata level", func(c *Config) {
			c.Models["pdm"] = ModelConfig{Path: c.Models["pdm"].Path, Metadata: map[string]string{"threshold.warn": "0.25"}}
		}, false, assets.Thresholds{Warn: 0.25, Alarm: alert.Thresholds().Alarm, K: 3}, ""},
		{"model that does not load", func(c *Config) {
			c.Models["pdm"] = ModelConfig{Path: "/nonexistent.onnx"}
		}, false, assets.Thresholds{}, "models.pdm"},
		{"asset tolerance", func(c *Config) { c.Assets[0].Tolerance = Duration(10 * time.Minute) }, true, assets.Thresholds{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := reloadSensorsConfig(t)
			tc.edit(next)
			plan, err := a.planSensors(a.cfg, next)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				if a.sensorHub() != hub {
					t.Fatal("the running pipeline was replaced by a refused reload")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.restart != tc.restart {
				t.Fatalf("restart %v, want %v", plan.restart, tc.restart)
			}
			a.reloadMu.Lock()
			a.applySensors(plan)
			a.reloadMu.Unlock()
			a.cfg = next
			if tc.restart {
				if a.sensorHub() == hub || a.sensorHub() == nil {
					t.Fatal("the pipeline was not replaced")
				}
				return
			}
			h := a.sensorHub()
			if h != hub || h.assets[0].win != win || h.assets[0].alert != alert {
				t.Fatal("thresholds were not applied in place")
			}
			if got := alert.Thresholds(); got != tc.want {
				t.Fatalf("thresholds %+v, want %+v", got, tc.want)
			}
		})
	}
}
