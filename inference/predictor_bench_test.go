//go:build bench

package inference

import (
	"testing"

	"github.com/lineside/lineside/internal/benchfmt"
	ort "github.com/yalue/onnxruntime_go"
)

// benchAssets is the fleet of the sensor-path figures: 64 assets sharing
// one model, so one run infers 64 windows of 30×4.
const benchAssets = 64

// TestBenchPredictor prints the batched LSTM run of 64 windows against a
// bare ONNX Runtime session run on the same batch with tensors bound once.
func TestBenchPredictor(t *testing.T) {
	p := loadPdm(t, benchAssets)
	data := fillRandom(p, benchAssets, 1)
	md := p.Metadata()
	in, err := ort.NewTensor(ort.NewShape(benchAssets, int64(md.Window), int64(len(md.Features))), data)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(benchAssets, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	opts, release, err := sessionOptions(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	bareSession, err := ort.NewAdvancedSession(pdmModel(t), []string{"window"}, []string{"p_fail"}, []ort.Value{in}, []ort.Value{out}, opts)
	release()
	if err != nil {
		t.Fatal(err)
	}
	defer bareSession.Destroy()
	var pred, bare testing.BenchmarkResult
	for range 3 {
		pred = best(pred, testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Run(benchAssets); err != nil {
					b.Fatal(err)
				}
			}
		}))
		bare = best(bare, testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bareSession.Run(); err != nil {
					b.Fatal(err)
				}
			}
		}))
	}
	t.Logf("predictor: %v %v; bare: %v %v", pred, pred.MemString(), bare, bare.MemString())
	benchfmt.Print(nil, "inference.pdm_batch64_ns_per_run", float64(pred.NsPerOp()), "ns", float64(bare.NsPerOp()), benchfmt.Lower)
	benchfmt.Print(nil, "inference.pdm_batch64_allocs_per_run", float64(pred.AllocsPerOp()), "allocs", float64(bare.AllocsPerOp()), benchfmt.Lower)
}
