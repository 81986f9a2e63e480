// Package topic builds lineside's MQTT topic names (layout v1, see DESIGN.md).
package topic

import "strings"

// DefaultPrefix is the topic prefix used when the config leaves it empty.
const DefaultPrefix = "lineside/v1"

// Layout computes topics for one device: {prefix}/{site}/{line}/{device}/...
type Layout struct {
	Prefix string
	Site   string
	Line   string
	Device string
}

// Base returns {prefix}/{site}/{line}/{device}.
func (l Layout) Base() string {
	p := l.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return strings.Join([]string{p, l.Site, l.Line, l.Device}, "/")
}

// Status is the retained birth/death topic.
func (l Layout) Status() string { return l.Base() + "/status" }

// Metrics is the periodic metrics topic.
func (l Layout) Metrics() string { return l.Base() + "/metrics" }

// DefectEvents is where defect records are published.
func (l Layout) DefectEvents() string { return l.Base() + "/events/defect" }

// HealthEvents is where asset health records are published.
func (l Layout) HealthEvents() string { return l.Base() + "/events/health" }

// Drops is where the outbox reports records it dropped to keep its disk
// budget, with their seqs, so the cloud can tell a drop from a gap.
func (l Layout) Drops() string { return l.Base() + "/events/drops" }

// StoreEvents is where the outbox reports a damaged store file it set aside
// and salvaged.
func (l Layout) StoreEvents() string { return l.Base() + "/events/store" }

// Snapshot is the topic of one evidence snapshot.
func (l Layout) Snapshot(id string) string { return l.Base() + "/snapshots/" + id }

// Telemetry is the per-asset telemetry topic.
func (l Layout) Telemetry(asset string) string { return l.Base() + "/telemetry/" + asset }

// ModelsState is the retained model state topic.
func (l Layout) ModelsState() string { return l.Base() + "/models/state" }

// Command is the topic a named command arrives on.
func (l Layout) Command(name string) string { return l.Base() + "/cmd/" + name }

// Reply is the topic a command's reply goes to.
func (l Layout) Reply(name string) string { return l.Base() + "/cmd/" + name + "/reply" }
