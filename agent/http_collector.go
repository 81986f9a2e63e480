package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// agentCollector exposes the agent's figures to Prometheus. It reads them
// at scrape time (node_exporter style), so the endpoint never lags the
// agent and keeps no state of its own.
type agentCollector struct{ a *Agent }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("lineside_"+name, help, labels, nil)
}

var (
	descInfo         = desc("build_info", "Agent version; always 1.", "version", "device")
	descCameraUp     = desc("camera_up", "1 when the camera streams.", "camera", "state")
	descFrames       = desc("camera_frames_total", "Frames captured.", "camera")
	descFPS          = desc("camera_fps", "Frames captured per second over the last metrics interval.", "camera")
	descInferred     = desc("inferences_total", "Frames inferred.", "camera")
	descInferFailed  = desc("inference_failures_total", "Frames whose inference failed.", "camera")
	descLatency      = desc("inference_latency_seconds", "Inference latency over the last inferences.", "camera")
	descQueueDepth   = desc("camera_queue_depth", "Frames waiting for inference.", "camera")
	descQueueDropped = desc("camera_queue_dropped_total", "Frames dropped because inference fell behind.", "camera")
	descGateSkipped  = desc("gate_skipped_total", "Frames kept from inference by the gate.", "camera", "reason")
	descOutboxDepth  = desc("outbox_records", "Records waiting in the outbox.")
	descOutboxBytes  = desc("outbox_bytes", "Size of the outbox file.")
	descOutboxMax    = desc("outbox_max_bytes", "Disk budget of the outbox (0: none).")
	descOutboxDrops  = desc("outbox_dropped_total", "Records dropped by the outbox.", "stream", "reason")
	descRunway       = desc("outbox_runway_seconds", "Offline buffering left at the current append rate.")
	descConnected    = desc("uplink_connected", "1 while connected to the broker.")
	descPublished    = desc("uplink_published_total", "Outbox records published, re-publishes included.")
	descAcked        = desc("uplink_acked_total", "Outbox records acknowledged by the broker.")
	descReconnects   = desc("uplink_reconnects_total", "Reconnects to the broker.")
	descCommands     = desc("commands_total", "Commands received, by outcome.", "outcome")
	descDiskFree     = desc("disk_free_bytes", "Free space on the store's filesystem.")
	descHealthy      = desc("healthy", "1 when /healthz reports healthy.")
)

// Describe sends every descriptor.
func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descCameraUp, descFrames, descFPS, descInferred,
		descInferFailed, descLatency, descQueueDepth, descQueueDropped, descGateSkipped, descOutboxDepth,
		descOutboxBytes, descOutboxMax, descOutboxDrops, descRunway, descConnected, descPublished,
		descAcked, descReconnects, descCommands, descDiskFree, descHealthy} {
		ch <- d
	}
}

// Collect reads the current figures.
func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(descInfo, 1, Version, a.layout.Base())
	for name, m := range a.cameraFigures(false) {
		gauge(descCameraUp, b2f(m.State == "streaming"), name, m.State)
		counter(descFrames, m.Frames, name)
		gauge(descFPS, m.FPS, name)
		counter(descInferred, m.Inferred, name)
		counter(descInferFailed, m.Failed, name)
		ch <- prometheus.MustNewConstSummary(descLatency, uint64(m.LatencyMS.N), 0, map[float64]float64{
			0.5: m.LatencyMS.P50 / 1000, 0.99: m.LatencyMS.P99 / 1000}, name)
		gauge(descQueueDepth, float64(m.QueueDepth), name)
		counter(descQueueDropped, m.QueueDropped, name)
		for r, n := range m.Skipped {
			counter(descGateSkipped, n, name, r)
		}
	}
	st := a.out.Stats()
	gauge(descOutboxDepth, float64(st.Depth))
	gauge(descOutboxBytes, float64(st.Bytes))
	gauge(descOutboxMax, float64(st.MaxBytes))
	for stream, reasons := range st.Drops {
		for r, n := range reasons {
			counter(descOutboxDrops, n, stream, r)
		}
	}
	if st.RunwayKnown {
		gauge(descRunway, st.Runway.Seconds())
	}
	us := a.up.Stats()
	gauge(descConnected, b2f(us.Connected))
	counter(descPublished, us.Published)
	counter(descAcked, us.Acked)
	counter(descReconnects, us.Reconnects)
	cc := a.cmds.counts()
	counter(descCommands, cc.OK, "ok")
	counter(descCommands, cc.Failed, "failed")
	counter(descCommands, cc.RateLimited, "rate_limited")
	gauge(descDiskFree, float64(a.processFigures(false).DiskFreeBytes))
	gauge(descHealthy, b2f(a.health().Healthy))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
