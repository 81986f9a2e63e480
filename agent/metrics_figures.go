package agent

import (
	"math"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/lineside/lineside/camera"
)

// cameraMetrics are one camera's figures in {base}/metrics.
type cameraMetrics struct {
	State string `json:"state"`
	// FPS and InferFPS are frames captured and inferred per second over the
	// last metrics interval.
	FPS          float64           `json:"fps"`
	InferFPS     float64           `json:"infer_fps"`
	Frames       uint64            `json:"frames"`
	Inferred     uint64            `json:"inferred"`
	Failed       uint64            `json:"failed"`
	LatencyMS    latencyMetrics    `json:"latency_ms"`
	QueueDepth   int               `json:"queue_depth"`
	QueueDropped uint64            `json:"queue_dropped"`
	Skipped      map[string]uint64 `json:"skipped"`
	Reconnects   uint64            `json:"reconnects"`
}

// latencyMetrics are inference latency quantiles over the last inferences.
type latencyMetrics struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"`
}

// processMetrics are the agent process's resource figures.
type processMetrics struct {
	CPUPercent     float64 `json:"cpu_percent"` // of one core, over the last interval
	RSSBytes       int64   `json:"rss_bytes"`
	DiskFreeBytes  uint64  `json:"disk_free_bytes"` // on the store's filesystem
	DiskTotalBytes uint64  `json:"disk_total_bytes"`
	Goroutines     int     `json:"goroutines"`
}

// dropMetrics counts every frame and record lost on purpose, by where and
// why: camera queues (the worker fell behind), gates (by skip reason) and
// the outbox (by drop reason, all streams).
type dropMetrics struct {
	Queue  uint64            `json:"queue"`
	Gate   map[string]uint64 `json:"gate"`
	Outbox map[string]uint64 `json:"outbox"`
}

// figures turns counters into rates between metrics ticks. Rates are
// updated only by the metrics tick, so a Prometheus scrape in between does
// not shorten the interval they are measured over.
type figures struct {
	mu       sync.Mutex
	prevProc processSample
	prevCam  map[string]camSample
	cpu      float64
	fps      map[string][2]float64 // captured, inferred per second
	store    storeWatch            // for /healthz
}

type camSample struct {
	at               time.Time
	frames, inferred uint64
}

func newFigures() *figures {
	return &figures{prevCam: map[string]camSample{}, fps: map[string][2]float64{}}
}

// cameraFigures returns every running camera's figures; with update, the
// rates are measured again since the last update.
func (a *Agent) cameraFigures(update bool) map[string]cameraMetrics {
	f := a.figures
	now := time.Now()
	out := map[string]cameraMetrics{}
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, w := range a.workers() {
		h := w.cam.Health()
		m := cameraMetrics{
			State: string(h.State), Frames: h.Frames, Inferred: w.inferred.Load(), Failed: w.failed.Load(),
			QueueDepth: w.queue.Len(), QueueDropped: w.queue.Dropped(), Reconnects: h.Reconnects,
			Skipped: map[string]uint64{},
		}
		for _, r := range camera.SkipReasons() {
			m.Skipped[r.String()] = w.gate.Skipped(r)
		}
		p50, p99, n := w.latencies.quantiles()
		m.LatencyMS = latencyMetrics{P50: millis(p50), P99: millis(p99), N: n}
		seen[w.name] = true
		if update {
			prev, ok := f.prevCam[w.name]
			if dt := now.Sub(prev.at).Seconds(); ok && dt > 0 && m.Frames >= prev.frames && m.Inferred >= prev.inferred {
				f.fps[w.name] = [2]float64{round3(float64(m.Frames-prev.frames) / dt), round3(float64(m.Inferred-prev.inferred) / dt)}
			}
			f.prevCam[w.name] = camSample{at: now, frames: m.Frames, inferred: m.Inferred}
		}
		m.FPS, m.InferFPS = f.fps[w.name][0], f.fps[w.name][1]
		out[w.name] = m
	}
	for name := range f.prevCam { // cameras removed by a reload
		if !seen[name] {
			delete(f.prevCam, name)
			delete(f.fps, name)
		}
	}
	return out
}

// processFigures returns the process's figures; with update, the CPU share
// is measured again since the last update.
func (a *Agent) processFigures(update bool) processMetrics {
	s := sampleProcess(filepath.Dir(a.cfg.Store.Path))
	f := a.figures
	f.mu.Lock()
	if update {
		if !f.prevProc.at.IsZero() {
			f.cpu = round3(cpuPercent(f.prevProc, s))
		}
		f.prevProc = s
	}
	cpu := f.cpu
	f.mu.Unlock()
	return processMetrics{CPUPercent: cpu, RSSBytes: s.rss, DiskFreeBytes: s.free, DiskTotalBytes: s.total,
		Goroutines: runtime.NumGoroutine()}
}

// dropFigures sums the drops of the cameras and of the outbox.
func dropFigures(cams map[string]cameraMetrics, outboxDrops map[string]map[string]uint64) dropMetrics {
	d := dropMetrics{Gate: map[string]uint64{}, Outbox: map[string]uint64{}}
	for _, c := range cams {
		d.Queue += c.QueueDropped
		for r, n := range c.Skipped {
			d.Gate[r] += n
		}
	}
	for _, reasons := range outboxDrops {
		for r, n := range reasons {
			d.Outbox[r] += n
		}
	}
	return d
}

func millis(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
