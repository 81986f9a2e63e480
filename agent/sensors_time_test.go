package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/sensors/sim"
)

func TestTimelinePutsSimulatedInstantsOnTheGrid(t *testing.T) {
	const period = 2 * time.Minute
	for _, tc := range []struct {
		name  string
		speed float64
		start time.Time // wall-clock instant of simulated time zero
		delay time.Duration
	}{
		{"exact stamps", 1200, time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC), 0},
		{"opc ua 100ns stamps", 3600, time.Date(2025, 3, 1, 10, 0, 7, 0, time.UTC), -99 * time.Nanosecond},
		{"read 20ms after the instant", 1200, time.Date(2025, 3, 1, 10, 0, 0, 41e6, time.UTC), 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := sim.Clock{Start: tc.start, Speed: tc.speed}
			tl := newTimeline(tc.speed, period)
			var first time.Time
			for k := int64(50); k < 5000; k++ {
				at := tc.start.Add(clock.Wall(time.Duration(k) * period)).Add(tc.delay)
				if k%7 == 0 {
					at = at.Add(tc.delay / 2) // jitter of the read
				}
				m := tl.machine(at)
				if m.UnixNano()%int64(period) != 0 {
					t.Fatalf("sample %d maps to %v, off the grid", k, m)
				}
				if k == 50 {
					first = m
				}
				if want := first.Add(time.Duration(k-50) * period); !m.Equal(want) {
					t.Fatalf("sample %d maps to %v, want %v", k, m, want)
				}
				if w := tl.wall(m); w.Sub(at).Abs() > 50*time.Millisecond {
					t.Fatalf("sample %d at %v: wall(machine) = %v", k, at, w)
				}
			}
		})
	}
}

func TestTimelineAtScaleOneIsTheIdentity(t *testing.T) {
	tl := newTimeline(1, 2*time.Minute)
	at := time.Date(2025, 3, 1, 10, 0, 13, 5, time.UTC)
	if m := tl.machine(at); !m.Equal(at) || !tl.wall(m).Equal(at) {
		t.Fatalf("machine(%v) = %v, wall = %v", at, m, tl.wall(m))
	}
}

func TestRoundTo(t *testing.T) {
	for _, tc := range []struct{ ns, p, want int64 }{
		{0, 10, 0}, {4, 10, 0}, {5, 10, 10}, {14, 10, 10}, {-4, 10, 0}, {-6, 10, -10}, {-15, 10, -10},
	} {
		if got := roundTo(tc.ns, tc.p); got != tc.want {
			t.Errorf("roundTo(%d, %d) = %d, want %d", tc.ns, tc.p, got, tc.want)
		}
	}
}

func TestAssetsOfOneModelShareTimeScale(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Device = DeviceConfig{Site: "s", Line: "l", ID: "d"}
	cfg.Models = map[string]ModelConfig{"pdm": {Path: "pdm.onnx"}}
	cfg.Sensors = []SensorConfig{{Name: "plc", Source: "modbus://127.0.0.1:502", Interval: DefaultSensorInterval,
		Timeout: DefaultSensorTimeout, Points: []PointConfig{{Name: "a", Address: "holding:0"}, {Name: "b", Address: "holding:2"}}}}
	cfg.Assets = []AssetConfig{
		{Name: "m1", Model: "pdm", Features: map[string]string{"vibration_rms": "a"}, K: 3, TimeScale: 1200},
		{Name: "m2", Model: "pdm", Features: map[string]string{"vibration_rms": "b"}, K: 3, TimeScale: 1},
	}
	errs := cfg.Validate()
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Error(), "assets[1].time_scale")
	}
	if !found {
		t.Fatalf("errors %v; want one for assets[1].time_scale", errs)
	}
}
