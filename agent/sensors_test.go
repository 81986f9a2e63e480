package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/sim"
	"github.com/lineside/lineside/sync/outbox"
)

// replaySource replays a simulated machine as fast as the pipeline takes
// it, stamping samples with simulated time from replayBase, and leaves out
// the samples of [gap_from, gap_from+gap_len) as a dead connection would.
// It stands in for a source of a line that cannot run here at that speed.
type replaySource struct {
	m        *sim.Machine
	points   []sensors.PointConfig
	until    time.Duration
	gapFrom  time.Duration
	gapLen   time.Duration
	finished chan struct{}
}

var replayBase = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

func init() {
	sensors.Register("replay", func(u *url.URL, o sensors.Options) (sensors.Source, error) {
		q := u.Query()
		seed, _ := strconv.ParseInt(q.Get("seed"), 10, 64)
		until, _ := time.ParseDuration(q.Get("until"))
		gapFrom, _ := time.ParseDuration(q.Get("gap_from"))
		gapLen, _ := time.ParseDuration(q.Get("gap_len"))
		m, err := sim.NewMachine(u.Host, seed, 0, sim.DefaultOptions())
		if err != nil {
			return nil, err
		}
		return &replaySource{m: m, points: o.Points, until: until, gapFrom: gapFrom, gapLen: gapLen, finished: make(chan struct{})}, nil
	})
}

var _ sensors.Source = (*replaySource)(nil)

func (r *replaySource) Run(ctx context.Context, emit sensors.Emit) error {
	idx := map[string]int{}
	for i, f := range sim.Features {
		idx[f] = i
	}
	for t := time.Duration(0); t <= r.until; t += sim.DefaultPeriod {
		if t >= r.gapFrom && t < r.gapFrom+r.gapLen {
			continue
		}
		s := r.m.SampleAt(t)
		for _, p := range r.points {
			v := s.Values[idx[p.Address]]
			var err error
			if v != v {
				err = sensors.ErrDropout
			}
			emit(sensors.Sample{Point: p.Name, Time: replayBase.Add(t), Value: v, Err: err})
		}
		time.Sleep(20 * time.Microsecond)
	}
	close(r.finished)
	<-ctx.Done()
	return nil
}

func (r *replaySource) Health() sensors.Health { return sensors.Health{State: sensors.StateConnected} }

// memStore keeps appended records.
type memStore struct {
	mu   sync.Mutex
	recs []outbox.Record
}

func (s *memStore) AppendAsync(_ context.Context, rec outbox.Record, done func(outbox.Receipt, error)) error {
	s.mu.Lock()
	s.recs = append(s.recs, rec)
	s.mu.Unlock()
	done(outbox.Receipt{}, nil)
	return nil
}

type healthEvent struct {
	TS       time.Time `json:"ts"`
	Asset    string    `json:"asset"`
	Model    string    `json:"model"`
	Version  string    `json:"model_version"`
	PFail    *float64  `json:"p_fail"`
	State    string    `json:"state"`
	Missing  []string  `json:"missing"`
	priority outbox.Priority
}

func TestSensorPipelineRaisesAlarmBeforeFailureAndFlagsGaps(t *testing.T) {
	m, _ := sim.NewMachine("motor", 1, 0, sim.DefaultOptions())
	failure := m.Life(0).Failure
	gapFrom := 26 * time.Hour
	until := failure - 10*time.Minute
	cfg := DefaultConfig()
	cfg.Device = DeviceConfig{Site: "s", Line: "l", ID: "d"}
	cfg.Models = map[string]ModelConfig{"pdm": {Path: testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx")}}
	src := "replay://motor?seed=1&until=" + until.String() + "&gap_from=" + gapFrom.String() + "&gap_len=1h"
	cfg.Sensors = []SensorConfig{{Name: "line", Source: src, Interval: DefaultSensorInterval, Timeout: DefaultSensorTimeout}}
	features := map[string]string{}
	for _, f := range sim.Features {
		cfg.Sensors[0].Points = append(cfg.Sensors[0].Points, PointConfig{Name: "m1_" + f, Address: f})
		features[f] = "m1_" + f
	}
	cfg.Assets = []AssetConfig{{Name: "m1", Model: "pdm", Features: features, K: 3, TimeScale: 1, TelemetryInterval: Duration(time.Second)}}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	a := New(cfg, slog.New(slog.DiscardHandler))
	store := &memStore{}
	if err := a.addSensorsTo(store); err != nil {
		t.Fatal(err)
	}
	defer a.closeSensors()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.sensors.run(ctx); close(done) }()
	<-a.sensors.sources[0].src.(*replaySource).finished
	time.Sleep(1500 * time.Millisecond) // late batch, telemetry
	cancel()
	<-done

	var events []healthEvent
	telemetry := 0
	for _, r := range store.recs {
		switch r.Stream {
		case "telemetry.m1":
			telemetry++
		case "health.m1", "alarm.m1":
			var e healthEvent
			if err := json.Unmarshal(r.Payload, &e); err != nil {
				t.Fatalf("%s: %v", r.Payload, err)
			}
			// The alarm stream holds exactly the records that enter
			// alarm, at alarm priority; the health stream none of them.
			if alarm := r.Stream == "alarm.m1"; alarm != (r.Priority == outbox.PriorityAlarm) || (alarm && e.State != "alarm") {
				t.Errorf("record on %s at priority %d in state %s", r.Stream, r.Priority, e.State)
			}
			e.priority = r.Priority
			events = append(events, e)
		default:
			t.Errorf("record on stream %s", r.Stream)
		}
	}
	checkHealthEvents(t, events, replayBase.Add(failure), replayBase.Add(gapFrom))
	if telemetry == 0 {
		t.Error("no telemetry record")
	}
}

// checkHealthEvents checks the p_fail trend, the alarm lead and the gap.
func checkHealthEvents(t *testing.T, events []healthEvent, failure, gap time.Time) {
	t.Helper()
	var alarms, insufficient []healthEvent
	inferred := 0
	for i, e := range events {
		if i > 0 && e.TS.Before(events[i-1].TS) {
			t.Errorf("event %d at %v before event %d at %v", i, e.TS, i-1, events[i-1].TS)
		}
		switch {
		case e.State == "insufficient_data":
			insufficient = append(insufficient, e)
		case e.PFail == nil:
			t.Errorf("event %+v without p_fail", e)
		default:
			inferred++
			if e.TS.Sub(events[max(i-1, 0)].TS)%(10*time.Minute) != 0 {
				t.Errorf("event at %v is not on the 10-minute stride", e.TS)
			}
		}
		if e.priority == outbox.PriorityAlarm {
			alarms = append(alarms, e)
		}
	}
	if len(alarms) == 0 || alarms[len(alarms)-1].State != "alarm" || failure.Sub(alarms[len(alarms)-1].TS) < time.Hour {
		t.Fatalf("alarms %+v; want one raised at least 1h before the failure at %v", alarms, failure)
	}
	t.Logf("%d windows inferred, %d alarm(s), last raised %v before the failure", inferred, len(alarms), failure.Sub(alarms[len(alarms)-1].TS))
	// Once while filling the first window, once for the gap.
	if len(insufficient) != 2 || insufficient[0].TS.After(replayBase.Add(time.Hour)) ||
		insufficient[1].TS.Before(gap) || insufficient[1].TS.After(gap.Add(time.Hour)) || len(insufficient[1].Missing) != 4 {
		t.Errorf("insufficient data events %+v; want one at start and one in the gap from %v", insufficient, gap)
	}
}
