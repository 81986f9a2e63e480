package dashboard

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Bounds of what the dashboard keeps per device, so memory stays flat however
// long it runs and however much the fleet publishes.
const (
	// MaxPoints is the length of each time series.
	MaxPoints = 120
	// MaxDefects is how many recent defects are kept per device.
	MaxDefects = 12
	// MaxSnapshots is how many snapshots are kept per device.
	MaxSnapshots = 24
	// MaxSnapshotBytes is the largest snapshot kept.
	MaxSnapshotBytes = 1 << 20
	// MaxAssets is how many assets are tracked per device.
	MaxAssets = 64
	// MaxDevices is how many devices are tracked.
	MaxDevices = 1000
)

// snapshotIDPattern is what a snapshot id may look like to be stored and
// served: {device}:{stream}:{seq} in a safe alphabet.
var snapshotIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,200}$`)

// Point is one value of a time series.
type Point struct {
	T int64   `json:"t"` // unix ms
	V float64 `json:"v"`
}

// Defect is one defect event as shown.
type Defect struct {
	ID           string  `json:"id"`
	TS           string  `json:"ts"`
	Camera       string  `json:"camera"`
	Label        string  `json:"label"`
	Score        float64 `json:"score"`
	ModelVersion string  `json:"model_version"`
	Snapshot     string  `json:"snapshot,omitempty"`
}

// Asset is one asset's health as shown.
type Asset struct {
	Name         string  `json:"name"`
	State        string  `json:"state"`
	PFail        float64 `json:"p_fail"`
	ModelVersion string  `json:"model_version"`
	TS           string  `json:"ts"`
	Trend        []Point `json:"trend"`
}

// Device is what the dashboard knows of one line PC.
type Device struct {
	Key      string             `json:"key"` // site/line/device
	Online   bool               `json:"online"`
	Seen     int64              `json:"seen"` // unix ms of the last message
	Version  string             `json:"version"`
	Started  string             `json:"started"`
	Models   map[string]string  `json:"models"`
	Cameras  map[string]string  `json:"cameras"`
	Sensors  map[string]string  `json:"sensors"`
	Updates  json.RawMessage    `json:"updates,omitempty"` // {base}/models/state as published
	Series   map[string][]Point `json:"series"`
	Defects  []Defect           `json:"defects"`
	Assets   map[string]*Asset  `json:"assets"`
	Runway   *float64           `json:"runway_hours"`
	snaps    map[string][]byte
	snapList []string
}

// State is the fleet as seen on the broker. Safe for concurrent use.
type State struct {
	mu      sync.Mutex
	devices map[string]*Device
	dirty   map[string]bool
}

// NewState returns an empty fleet.
func NewState() *State {
	return &State{devices: map[string]*Device{}, dirty: map[string]bool{}}
}

// device returns the device of key, creating it; nil when the fleet is full.
func (s *State) device(key string) *Device {
	d := s.devices[key]
	if d == nil {
		if len(s.devices) >= MaxDevices {
			return nil
		}
		d = &Device{Key: key, Series: map[string][]Point{}, Defects: []Defect{}, Assets: map[string]*Asset{},
			Models: map[string]string{}, Cameras: map[string]string{}, Sensors: map[string]string{},
			snaps: map[string][]byte{}}
		s.devices[key] = d
	}
	s.dirty[key] = true
	d.Seen = time.Now().UnixMilli()
	return d
}

// Handle applies one MQTT message under prefix to the state and reports
// whether it was understood.
func (s *State) Handle(prefix, topic string, payload []byte) bool {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	if !ok {
		return false
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 4 {
		return false
	}
	key, kind := strings.Join(parts[:3], "/"), parts[3]
	if len(key) > 256 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case kind == "status":
		return s.status(key, payload)
	case kind == "metrics":
		return s.metrics(key, payload)
	case kind == "events/defect":
		return s.defect(key, payload)
	case kind == "events/health":
		return s.health(key, payload)
	case kind == "models/state":
		if !json.Valid(payload) || len(payload) > 64<<10 {
			return false
		}
		if d := s.device(key); d != nil {
			d.Updates = append(json.RawMessage(nil), payload...)
		}
		return true
	case strings.HasPrefix(kind, "snapshots/"):
		return s.snapshot(key, strings.TrimPrefix(kind, "snapshots/"), payload)
	}
	return false
}

// Snapshot returns the JPEG of a device's snapshot, if kept.
func (s *State) Snapshot(key, id string) ([]byte, bool) {
	if !snapshotIDPattern.MatchString(id) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[key]
	if d == nil {
		return nil, false
	}
	b, ok := d.snaps[id]
	return b, ok
}

// JSON returns the devices named (all when keys is nil) as a JSON array.
func (s *State) JSON(keys []string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if keys == nil {
		for k := range s.devices {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	list := make([]*Device, 0, len(keys))
	for _, k := range keys {
		if d := s.devices[k]; d != nil {
			list = append(list, d)
		}
	}
	b, _ := json.Marshal(list)
	return b
}

// TakeDirty returns the keys of the devices changed since the last call.
func (s *State) TakeDirty() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.dirty) == 0 {
		return nil
	}
	keys := make([]string, 0, len(s.dirty))
	for k := range s.dirty {
		keys = append(keys, k)
	}
	s.dirty = map[string]bool{}
	return keys
}

// push appends a point to a bounded series.
func push(series []Point, v float64) []Point {
	series = append(series, Point{T: time.Now().UnixMilli(), V: v})
	if len(series) > MaxPoints {
		series = append(series[:0:0], series[len(series)-MaxPoints:]...)
	}
	return series
}
