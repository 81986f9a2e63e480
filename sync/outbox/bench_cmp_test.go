//go:build bench

package outbox

import (
	"testing"

	"github.com/lineside/lineside/internal/benchfmt"
)

// TestBenchOutbox compares durable appends from 8 producers with bare bbolt
// writing 100 records per transaction, and prints the figure line.
func TestBenchOutbox(t *testing.T) {
	app := testing.Benchmark(BenchmarkAppend8)
	bare := testing.Benchmark(BenchmarkBareBolt100)
	perSec := func(r testing.BenchmarkResult) float64 { return float64(r.N) / r.T.Seconds() }
	t.Logf("append8: %v %s; bare: %v %s", app, app.MemString(), bare, bare.MemString())
	benchfmt.Print(nil, "outbox.appends_per_s_8_producers", perSec(app), "records/s", perSec(bare), benchfmt.Higher)
}
