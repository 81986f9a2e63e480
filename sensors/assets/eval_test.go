package assets_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors/assets"
	"github.com/lineside/lineside/sensors/sim"
)

// TestModelQualityOnFreshSeed is the Go side of the pdm-lstm quality
// claim: fresh simulated lives (seed 11; training used 1, validation 2,
// the model card's test 3 and 4) through the agent's own windowing and
// ONNX Runtime, scored with the model card's alarm definition.
func TestModelQualityOnFreshSeed(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	o := sim.DefaultDatasetOptions(0, 11)
	o.Assets, o.EvalSpan = 16, 8*7*24*time.Hour
	if err := sim.WritePdmDataset(dir, o); err != nil {
		t.Fatal(err)
	}
	generated := time.Since(start)
	res := evaluate(t, dir+"/eval")
	t.Logf("seed 11, %d assets, %v of lives (data %v, evaluation %v): %s",
		o.Assets, o.EvalSpan, generated.Round(time.Millisecond), (time.Since(start) - generated).Round(time.Millisecond), res)
	if res.Mismatches != 0 {
		t.Errorf("%d windows differ in validity from the dataset's own hold-last", res.Mismatches)
	}
	if res.Failures < 20 {
		t.Errorf("only %d failures evaluated; the figures would mean little", res.Failures)
	}
	if res.WarnedAhead < 0.8 {
		t.Errorf("%.1f%% of failures warned >= 1h ahead, want >= 80%%", 100*res.WarnedAhead)
	}
	if res.FalseAlarmsPerAssetWeek > 1 {
		t.Errorf("%.2f false alarms per asset-week, want <= 1", res.FalseAlarmsPerAssetWeek)
	}
}

// TestEvaluateWindowsAgreeWithDataset runs lives with many dropouts and a
// short gap tolerance, so that many windows have gaps, and checks that the
// agent's windowing marks exactly the windows the simulator marks.
func TestEvaluateWindowsAgreeWithDataset(t *testing.T) {
	dir := t.TempDir()
	o := sim.DefaultDatasetOptions(0, 12)
	o.Assets, o.EvalSpan, o.DropoutRate, o.MaxGap = 3, 3*7*24*time.Hour, 0.2, 4*time.Minute
	if err := sim.WritePdmDataset(dir, o); err != nil {
		t.Fatal(err)
	}
	res := evaluate(t, dir+"/eval")
	t.Log(res)
	if res.Mismatches != 0 {
		t.Errorf("%d windows differ in validity or end from the dataset's", res.Mismatches)
	}
	if res.Inferred == res.Windows || res.Inferred == 0 {
		t.Errorf("%d of %d windows inferred; want some but not all", res.Inferred, res.Windows)
	}
}

// evaluate scores the reference model over an eval/ directory.
func evaluate(t *testing.T, dir string) assets.EvalResult {
	t.Helper()
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	p, err := inference.LoadPredictor(testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx"), inference.PredictorOptions{MaxBatch: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	md := p.Metadata()
	res, err := assets.Evaluate(dir, p, assets.EvalOptions{
		Mean: md.FeatureMean, Std: md.FeatureStd,
		Thresholds: assets.Thresholds{Warn: md.Threshold.Warn, Alarm: md.Threshold.Alarm, K: assets.DefaultDebounce},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
