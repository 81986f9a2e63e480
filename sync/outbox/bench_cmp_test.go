//go:build bench

package outbox

import (
	"testing"

	"github.com/lineside/lineside/internal/benchfmt"
)

// TestBenchOutbox compares durable appends from 8 producers, each keeping
// up to benchInFlight appends in flight, with bare bbolt writing 100 records
// per transaction, and prints the figure line; the one-append-at-a-time
// figure is printed too, for reference.
func TestBenchOutbox(t *testing.T) {
	bare := testing.Benchmark(BenchmarkBareBolt100)
	app := testing.Benchmark(BenchmarkAppend8)
	sync := testing.Benchmark(BenchmarkAppend8Sync)
	perSec := func(r testing.BenchmarkResult) float64 { return float64(r.N) / r.T.Seconds() }
	t.Logf("append8: %v %s; sync: %v; bare: %v %s", app, app.MemString(), sync, bare, bare.MemString())
	benchfmt.Print(nil, "outbox.appends_per_s_8_producers", perSec(app), "records/s", perSec(bare), benchfmt.Higher)
	benchfmt.Print(nil, "outbox.appends_per_s_8_producers_sync", perSec(sync), "records/s", perSec(bare), benchfmt.Higher)
}
