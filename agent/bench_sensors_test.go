//go:build bench

package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/benchfmt"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/sim"
)

// The sensor-path load of the issue: 64 assets × 4 features sampled at
// 10 Hz, 2,560 samples a second.
const (
	benchSensorAssets = 64
	benchSensorRate   = 10 // Hz
	benchSensorWarmup = 4 * time.Second
	benchSensorSpan   = 10 * time.Second
)

func init() { sensors.Register("benchmem", newMemSource) }

// memSource emits every point at benchSensorRate with the wall-clock time,
// as a source whose protocol costs nothing would.
type memSource struct{ points []sensors.PointConfig }

func newMemSource(_ *url.URL, o sensors.Options) (sensors.Source, error) {
	return &memSource{points: o.Points}, nil
}

func (s *memSource) Run(ctx context.Context, emit sensors.Emit) error {
	tick := time.NewTicker(time.Second / benchSensorRate)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			for i, p := range s.points {
				emit(sensors.Sample{Point: p.Name, Time: now, Value: 10 + math.Sin(float64(n+i)/50)})
			}
		}
	}
}

func (s *memSource) Health() sensors.Health { return sensors.Health{State: sensors.StateConnected} }

// TestBenchSensorPath prints the CPU share of one core that the whole
// sensor path takes at 64 assets × 4 features at 10 Hz: samples into the
// pipeline, grid alignment, windows, batched LSTM runs, alert states and
// health records into a store. With time_scale 1200 every sample is a grid
// row and a batch of 64 windows runs every half second, 1200 times the
// model's cadence, so the figure bounds the production one from above; at
// time_scale 1 (no window falls due in the run) it is the ingest alone.
func TestBenchSensorPath(t *testing.T) {
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		scale float64
	}{{"sensors.path_cpu_share", 1200}, {"sensors.ingest_cpu_share", 1}} {
		share, inferred := runSensorPath(t, tc.scale)
		if tc.scale > 1 && inferred == 0 {
			t.Fatalf("%s: no window inferred", tc.name)
		}
		t.Logf("%s: %.4f of a core, %d windows inferred", tc.name, share, inferred)
		benchfmt.Print(nil, tc.name, share, "core", 1, benchfmt.Lower)
	}
}

// runSensorPath runs the pipeline on the in-memory load at scale and
// returns the process's CPU time per wall-clock time over the measured
// span, and the windows inferred in it.
func runSensorPath(t *testing.T, scale float64) (float64, uint64) {
	cfg := DefaultConfig()
	cfg.Device = DeviceConfig{Site: "s", Line: "l", ID: "d"}
	cfg.Models = map[string]ModelConfig{"pdm": {Path: testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx")}}
	src := SensorConfig{Name: "mem", Source: "benchmem://", Interval: DefaultSensorInterval, Timeout: DefaultSensorTimeout}
	for i := range benchSensorAssets {
		features := map[string]string{}
		for _, f := range sim.Features {
			p := fmt.Sprintf("a%d_%s", i, f)
			src.Points = append(src.Points, PointConfig{Name: p, Address: f})
			features[f] = p
		}
		cfg.Assets = append(cfg.Assets, AssetConfig{Name: fmt.Sprintf("a%d", i), Model: "pdm", Features: features,
			K: 3, TimeScale: scale, TelemetryInterval: Duration(time.Second)})
	}
	cfg.Sensors = []SensorConfig{src}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	a := New(cfg, slog.New(slog.DiscardHandler))
	if err := a.addSensorsTo(&memStore{}); err != nil {
		t.Fatal(err)
	}
	defer a.closeSensors()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.sensors.run(ctx); close(done) }()
	time.Sleep(benchSensorWarmup) // windows fill; the measured span starts in steady state
	before, inferred0, start := cpuTime(), a.SensorFigures(), time.Now()
	time.Sleep(benchSensorSpan)
	used, wall, after := cpuTime()-before, time.Since(start), a.SensorFigures()
	cancel()
	<-done
	if after.SamplesDropped != 0 {
		t.Fatalf("%d samples dropped at %d Hz", after.SamplesDropped, benchSensorRate)
	}
	var inferred uint64
	for name, as := range after.Assets {
		inferred += as.Inferred - inferred0.Assets[name].Inferred
	}
	return used.Seconds() / wall.Seconds(), inferred
}
