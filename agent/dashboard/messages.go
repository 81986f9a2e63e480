package dashboard

import (
	"encoding/json"
	"math"
)

// status applies {base}/status: birth (online) or death (offline).
func (s *State) status(key string, payload []byte) bool {
	var m struct {
		State   string            `json:"state"`
		Version string            `json:"version"`
		Started string            `json:"started"`
		Models  map[string]string `json:"models"`
		Cameras map[string]string `json:"cameras"`
		Sensors map[string]string `json:"sensors"`
	}
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	d := s.device(key)
	if d == nil {
		return false
	}
	d.Online = m.State == "online"
	if m.Version != "" {
		d.Version, d.Started = m.Version, m.Started
	}
	for dst, src := range map[*map[string]string]map[string]string{&d.Models: m.Models, &d.Cameras: m.Cameras, &d.Sensors: m.Sensors} {
		if src != nil {
			*dst = src
		}
	}
	return true
}

// metrics applies {base}/metrics: one point per series.
func (s *State) metrics(key string, payload []byte) bool {
	var m struct {
		Cameras map[string]struct {
			FPS       float64 `json:"fps"`
			LatencyMS struct {
				P50 float64 `json:"p50"`
				P99 float64 `json:"p99"`
			} `json:"latency_ms"`
		} `json:"cameras"`
		Outbox struct {
			Depth       float64  `json:"depth"`
			Bytes       float64  `json:"bytes"`
			RunwayHours *float64 `json:"runway_hours"`
		} `json:"outbox"`
		Drops struct {
			Queue  float64            `json:"queue"`
			Outbox map[string]float64 `json:"outbox"`
		} `json:"drops"`
		Process struct {
			CPU float64 `json:"cpu_percent"`
			RSS float64 `json:"rss_bytes"`
		} `json:"process"`
	}
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	d := s.device(key)
	if d == nil {
		return false
	}
	var fps, p50, p99 float64
	for _, c := range m.Cameras {
		fps += c.FPS
		p50, p99 = math.Max(p50, c.LatencyMS.P50), math.Max(p99, c.LatencyMS.P99)
	}
	drops := m.Drops.Queue
	for _, n := range m.Drops.Outbox {
		drops += n
	}
	for name, v := range map[string]float64{"fps": fps, "latency_p50": p50, "latency_p99": p99,
		"outbox_depth": m.Outbox.Depth, "drops": drops, "cpu": m.Process.CPU, "rss_mb": m.Process.RSS / (1 << 20)} {
		d.Series[name] = push(d.Series[name], finite(v))
	}
	if r := m.Outbox.RunwayHours; r != nil {
		v := finite(*r)
		d.Runway = &v
		d.Series["runway_h"] = push(d.Series["runway_h"], v)
	}
	d.Online = true
	return true
}

// defect applies {base}/events/defect.
func (s *State) defect(key string, payload []byte) bool {
	var m struct {
		Defect
		Snapshot *string `json:"snapshot"`
	}
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	d := s.device(key)
	if d == nil {
		return false
	}
	ev := m.Defect
	ev.Score = finite(ev.Score)
	if m.Snapshot != nil && snapshotIDPattern.MatchString(*m.Snapshot) {
		ev.Snapshot = *m.Snapshot
	}
	d.Defects = append([]Defect{ev}, d.Defects...)
	if len(d.Defects) > MaxDefects {
		d.Defects = d.Defects[:MaxDefects]
	}
	return true
}

// health applies {base}/events/health.
func (s *State) health(key string, payload []byte) bool {
	var m struct {
		Asset        string  `json:"asset"`
		ModelVersion string  `json:"model_version"`
		PFail        float64 `json:"p_fail"`
		State        string  `json:"state"`
		TS           string  `json:"ts"`
	}
	if json.Unmarshal(payload, &m) != nil || m.Asset == "" || len(m.Asset) > 128 {
		return false
	}
	d := s.device(key)
	if d == nil {
		return false
	}
	a := d.Assets[m.Asset]
	if a == nil {
		if len(d.Assets) >= MaxAssets {
			return false
		}
		a = &Asset{Name: m.Asset}
		d.Assets[m.Asset] = a
	}
	a.State, a.PFail, a.ModelVersion, a.TS = m.State, finite(m.PFail), m.ModelVersion, m.TS
	a.Trend = push(a.Trend, a.PFail)
	return true
}

// snapshot keeps a JPEG under its id, forgetting the oldest beyond
// MaxSnapshots.
func (s *State) snapshot(key, id string, payload []byte) bool {
	if !snapshotIDPattern.MatchString(id) || len(payload) > MaxSnapshotBytes || len(payload) < 4 ||
		payload[0] != 0xFF || payload[1] != 0xD8 { // JPEG SOI
		return false
	}
	d := s.device(key)
	if d == nil {
		return false
	}
	if _, ok := d.snaps[id]; !ok {
		d.snapList = append(d.snapList, id)
	}
	d.snaps[id] = append([]byte(nil), payload...)
	for len(d.snapList) > MaxSnapshots {
		delete(d.snaps, d.snapList[0])
		d.snapList = d.snapList[1:]
	}
	return true
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
