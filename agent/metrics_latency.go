package agent

import (
	"slices"
	"sync/atomic"
	"time"
)

// latencyRingSize is how many recent inferences the latency quantiles are
// computed over: enough for a stable p99, small enough to copy and sort on
// every metrics tick.
const latencyRingSize = 512

// latencyRing keeps the last latencyRingSize inference latencies of one
// worker in fixed memory. One goroutine observes; any goroutine may read.
type latencyRing struct {
	vals [latencyRingSize]atomic.Int64
	n    atomic.Uint64
}

// observe records one latency. It does not allocate.
func (r *latencyRing) observe(d time.Duration) {
	i := r.n.Add(1) - 1
	r.vals[i%latencyRingSize].Store(int64(d))
}

// quantiles returns the median and the 99th percentile of the recorded
// latencies and how many they are computed over (0: none yet).
func (r *latencyRing) quantiles() (p50, p99 time.Duration, n int) {
	n = int(min(r.n.Load(), latencyRingSize))
	if n == 0 {
		return 0, 0, 0
	}
	buf := make([]int64, n)
	for i := range buf {
		buf[i] = r.vals[i].Load()
	}
	slices.Sort(buf)
	return time.Duration(quantile(buf, 0.5)), time.Duration(quantile(buf, 0.99)), n
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []int64, q float64) int64 {
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
