package agent

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/lineside/lineside/sync/uplink"
)

// publishMetrics publishes the outbox and uplink figures on {base}/metrics
// every status.metrics_interval (QoS 0, not retained; nothing is published
// while offline) until ctx ends.
func (a *Agent) publishMetrics(ctx context.Context) {
	failing := false
	every(ctx, a.cfg.Status.MetricsInterval.Std(), func() {
		err := a.up.Publish(a.layout.Metrics(), 0, false, a.metrics())
		switch {
		case err != nil && !errors.Is(err, uplink.ErrNotConnected) && !failing:
			failing = true
			a.log.Warn("metrics not published", "component", "metrics", "err", err)
		case err == nil && failing:
			failing = false
			a.log.Info("metrics published again", "component", "metrics")
		}
	})
}

// metricsPayload is the {base}/metrics payload: per-camera rates, latencies
// and queues (metrics_figures.go), the outbox and uplink figures, drops by
// reason, the process's resources and the command counts.
type metricsPayload struct {
	TS       string                   `json:"ts"`
	Cameras  map[string]cameraMetrics `json:"cameras"`
	Outbox   outboxMetrics            `json:"outbox"`
	Uplink   uplinkMetrics            `json:"uplink"`
	Drops    dropMetrics              `json:"drops"`
	Process  processMetrics           `json:"process"`
	Commands commandCounts            `json:"commands"`
	Sensors  *SensorMetrics           `json:"sensors,omitempty"` // nil without sensors
}

type outboxMetrics struct {
	Depth      int                          `json:"depth"`
	Bytes      int64                        `json:"bytes"`
	UsedBytes  int64                        `json:"used_bytes"`
	MaxBytes   int64                        `json:"max_bytes"`
	AppendRate float64                      `json:"append_bytes_per_s"`
	Drops      map[string]map[string]uint64 `json:"drops"`
	// RunwayHours is how many hours of offline buffering are left at the
	// current rate; null when nothing was appended in the last minute.
	RunwayHours *float64 `json:"runway_hours"`
	Commits     uint64   `json:"commits"`
	CommitErrs  uint64   `json:"commit_errors"`
	Salvaged    bool     `json:"salvaged"`
}

type uplinkMetrics struct {
	Connected   bool   `json:"connected"`
	Published   uint64 `json:"published"`
	Acked       uint64 `json:"acked"`
	Failed      uint64 `json:"failed"`
	Reconnects  uint64 `json:"reconnects"`
	InFlight    int    `json:"in_flight"`
	RateLimited uint64 `json:"rate_limited"`
}

// metrics returns the current figures as JSON.
func (a *Agent) metrics() []byte {
	os, us := a.out.Stats(), a.up.Stats()
	m := metricsPayload{
		TS: time.Now().UTC().Format(time.RFC3339Nano),
		Outbox: outboxMetrics{
			Depth: os.Depth, Bytes: os.Bytes, UsedBytes: os.UsedBytes, MaxBytes: os.MaxBytes,
			AppendRate: math.Round(os.AppendRate), Drops: os.Drops, Commits: os.Commits, CommitErrs: os.CommitErrors,
			Salvaged: a.out.Salvaged() != nil,
		},
		Uplink: uplinkMetrics{
			Connected: us.Connected, Published: us.Published, Acked: us.Acked, Failed: us.Failed,
			Reconnects: us.Reconnects, InFlight: us.InFlight, RateLimited: us.RateLimited,
		},
	}
	if os.RunwayKnown {
		h := math.Round(os.Runway.Hours()*1000) / 1000
		m.Outbox.RunwayHours = &h
	}
	m.Cameras = a.cameraFigures(true)
	m.Drops = dropFigures(m.Cameras, os.Drops)
	m.Process = a.processFigures(true)
	m.Commands = a.cmds.counts()
	m.Sensors = a.SensorFigures()
	b, _ := json.Marshal(m)
	return b
}
