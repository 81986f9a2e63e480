//go:build bench

package inference

import (
	"testing"

	"github.com/lineside/lineside/internal/benchfmt"
)

// TestBenchClassify prints Classify's cost per frame against ONNX Runtime
// alone on the same model, in the `make bench` line format:
// classify_ns_per_frame is a VGA BGR frame (gray conversion and INTER_AREA
// resize included), classify_native_ns_per_frame a frame already 64x64 gray.
func TestBenchClassify(t *testing.T) {
	initORT(t)
	// The line PC's cores are shared, so each figure is the best of a few
	// interleaved rounds rather than one run disturbed by a neighbour.
	var classify, native, bare testing.BenchmarkResult
	for range 3 {
		classify = best(classify, testing.Benchmark(BenchmarkClassify))
		native = best(native, testing.Benchmark(BenchmarkClassifyNative))
		bare = best(bare, testing.Benchmark(BenchmarkBareRun))
	}
	if classify.N == 0 || native.N == 0 || bare.N == 0 {
		t.Fatalf("benchmarks did not run: classify %v, native %v, bare %v", classify, native, bare)
	}
	t.Logf("classify VGA BGR: %v %v", classify, classify.MemString())
	t.Logf("classify 64x64 gray: %v %v", native, native.MemString())
	t.Logf("bare run: %v %v", bare, bare.MemString())
	benchfmt.Print(nil, "inference.classify_ns_per_frame", float64(classify.NsPerOp()), "ns", float64(bare.NsPerOp()), benchfmt.Lower)
	benchfmt.Print(nil, "inference.classify_native_ns_per_frame", float64(native.NsPerOp()), "ns", float64(bare.NsPerOp()), benchfmt.Lower)
	benchfmt.Print(nil, "inference.classify_allocs_per_frame", float64(classify.AllocsPerOp()), "allocs", float64(bare.AllocsPerOp()), benchfmt.Lower)
}

// best returns the faster of two results; a zero result never wins.
func best(a, b testing.BenchmarkResult) testing.BenchmarkResult {
	if a.N == 0 || (b.N > 0 && b.NsPerOp() < a.NsPerOp()) {
		return b
	}
	return a
}
