package inference

import (
	"math/rand/v2"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// pdmModel is the path of the reference failure-prediction LSTM.
func pdmModel(t testing.TB) string {
	return fixture(t, "../pdm-lstm/pdm-lstm.onnx")
}

// loadPdm loads the reference LSTM with room for maxBatch windows.
func loadPdm(t testing.TB, maxBatch int) *Predictor {
	t.Helper()
	initORT(t)
	p, err := LoadPredictor(pdmModel(t), PredictorOptions{MaxBatch: maxBatch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// fillRandom fills windows 0..n-1 with normalised-looking values.
func fillRandom(p *Predictor, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	var all []float32
	for i := 0; i < n; i++ {
		w := p.Window(i)
		for j := range w {
			w[j] = float32(rng.NormFloat64())
		}
		all = append(all, w...)
	}
	return all
}

// bareRun infers a batch with a plain ONNX Runtime session of its own.
func bareRun(t testing.TB, path string, data []float32, n, window, features int) []float32 {
	t.Helper()
	in, err := ort.NewTensor(ort.NewShape(int64(n), int64(window), int64(features)), data)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), 1))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	s, err := ort.NewAdvancedSession(path, []string{"window"}, []string{"p_fail"}, []ort.Value{in}, []ort.Value{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out.GetData()...)
}

func TestPredictorMatchesBareRuntime(t *testing.T) {
	p := loadPdm(t, 16)
	md := p.Metadata()
	if md.Window != 30 || len(md.Features) != 4 || md.PeriodS != 120 || md.StrideS != 600 || md.MaxGapS != 600 {
		t.Fatalf("metadata window %d features %v period %g stride %g max gap %g", md.Window, md.Features, md.PeriodS, md.StrideS, md.MaxGapS)
	}
	for _, n := range []int{1, 5, 16} {
		data := fillRandom(p, n, uint64(n))
		got, err := p.Run(n)
		if err != nil {
			t.Fatal(err)
		}
		want := bareRun(t, pdmModel(t), data, n, md.Window, len(md.Features))
		if len(got) != n {
			t.Fatalf("batch %d: %d outputs", n, len(got))
		}
		for i := range want {
			if !near(float64(got[i]), float64(want[i]), 1e-6) {
				t.Errorf("batch %d window %d: p_fail %v, bare runtime %v", n, i, got[i], want[i])
			}
			if got[i] < 0 || got[i] > 1 {
				t.Errorf("batch %d window %d: p_fail %v is not a probability", n, i, got[i])
			}
		}
	}
}

func TestPredictorBatchSizeDoesNotChangeResults(t *testing.T) {
	p := loadPdm(t, 8)
	fillRandom(p, 8, 9)
	full, err := p.Run(8)
	if err != nil {
		t.Fatal(err)
	}
	full = append([]float32(nil), full...)
	part, err := p.Run(3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range part {
		if !near(float64(part[i]), float64(full[i]), 1e-6) {
			t.Errorf("window %d: %v in a batch of 3, %v in a batch of 8", i, part[i], full[i])
		}
	}
	if _, err := p.Run(9); err == nil {
		t.Error("Run(9) with MaxBatch 8: no error")
	}
	if _, err := p.Run(0); err == nil {
		t.Error("Run(0): no error")
	}
}

func TestPredictorRunAllocatesNothing(t *testing.T) {
	p := loadPdm(t, 64)
	fillRandom(p, 64, 3)
	for _, n := range []int{64, 7} {
		if allocs := testing.AllocsPerRun(20, func() {
			if _, err := p.Run(n); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("Run(%d): %v allocations per run, want 0", n, allocs)
		}
	}
}

func TestLoadPredictorRejects(t *testing.T) {
	initORT(t)
	tests := []struct {
		name, path string
		opts       PredictorOptions
		want       string
	}{
		{"classifier model", defectModel(t), PredictorOptions{}, `lineside.task is "defect_classification", want failure_prediction`},
		{"window mismatch", pdmModel(t), PredictorOptions{Overrides: map[string]string{"window": "20"}}, "lineside.window is 20"},
		{"feature count mismatch", pdmModel(t), PredictorOptions{Overrides: map[string]string{"features": "a,b,c", "feature_mean": "0,0,0", "feature_std": "1,1,1"}}, "lineside.features has 3"},
		{"negative period", pdmModel(t), PredictorOptions{Overrides: map[string]string{"period_s": "-1"}}, "lineside.period_s: -1 is negative"},
		{"unknown override", pdmModel(t), PredictorOptions{Overrides: map[string]string{"windw": "30"}}, "did you mean window?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := LoadPredictor(tt.path, tt.opts)
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q, want it to name the file and contain %q", err, tt.want)
			}
		})
	}
}
