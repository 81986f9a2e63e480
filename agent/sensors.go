package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/topic"
)

// Sensor pipeline tuning.
const (
	// sampleQueue is how many samples may wait for the pipeline; beyond it
	// sources' samples are dropped and counted, so a source never blocks.
	sampleQueue = 8192
	// batchWait is how long (wall time) a model's batch waits for the
	// windows of assets whose samples come late before it runs without
	// them.
	batchWait = time.Second
	// sensorTick is the period of the pipeline's housekeeping: late batches,
	// telemetry, source health.
	sensorTick = 250 * time.Millisecond
)

// healthStore is what the sensor pipeline needs of the outbox.
type healthStore interface {
	AppendAsync(ctx context.Context, rec outbox.Record, done func(outbox.Receipt, error)) error
}

// sensorHub runs the sensor sources and, on one goroutine, everything
// downstream of them: per-asset windows, one batched run per model and due
// grid instant, alert states, health events and telemetry.
type sensorHub struct {
	log      *slog.Logger
	out      healthStore
	layout   topic.Layout
	sources  []*sensorSource
	models   []*pdmModel
	assets   []*assetRun
	byPoint  map[string][]featureRef
	samples  chan sensors.Sample
	dropped  atomic.Uint64
	failed   atomic.Uint64            // records the store refused
	onState  func()                   // a source changed state
	bySource map[string]*sensorSource // point name → its source

	statesMu sync.Mutex
	states   map[string]string

	// ctl runs functions on the pipeline's goroutine, between samples: a
	// reload puts new thresholds in force through it (reload_sensors.go).
	ctl chan func()
}

// sensorSource is one configured source.
type sensorSource struct {
	name string
	src  sensors.Source
	errs [len(errKinds)]atomic.Uint64 // sample errors by kind (sensors_metrics.go)
}

// featureRef says which asset feature a point feeds.
type featureRef struct {
	asset   *assetRun
	feature int
}

// pdmModel is one loaded failure-prediction model and its pending batch.
type pdmModel struct {
	name, version string
	pred          *inference.Predictor
	hub           *sensorHub
	assets        []*assetRun
	tl            *timeline   // machine time of its assets (sensors_time.go)
	clock         time.Time   // latest (machine) sample time of its assets
	slots         []*assetRun // windows filled for the pending run
	end           time.Time   // grid instant of the pending windows
	since         time.Time   // wall time the pending batch was started
	stats         batchStats  // failed batches per version, for probation
}

// newSensorHub builds sources and asset pipelines for cfg; models holds
// the loaded predictors by model name.
func newSensorHub(cfg *Config, models map[string]*pdmModel, out healthStore, log *slog.Logger) (*sensorHub, error) {
	h := &sensorHub{
		log: log.With("component", "sensors"), out: out, layout: cfg.TopicLayout(),
		byPoint: map[string][]featureRef{}, samples: make(chan sensors.Sample, sampleQueue),
		states: map[string]string{}, bySource: map[string]*sensorSource{},
		ctl: make(chan func()),
	}
	points := map[string]bool{}
	for _, sc := range cfg.Sensors {
		pcs := make([]sensors.PointConfig, len(sc.Points))
		for i, p := range sc.Points {
			pcs[i] = sensors.PointConfig{Name: p.Name, Address: p.Address, Options: p.Options()}
			points[p.Name] = true
		}
		name := sc.Name
		src, err := sensors.NewSource(sc.Source, sensors.Options{
			Name: sc.Name, Points: pcs, Interval: sc.Interval.Std(), Timeout: sc.Timeout.Std(),
			Logger: log, OnState: func(st sensors.Health) { h.setState(name, st.State) },
		})
		if err != nil {
			return nil, fmt.Errorf("sensors.%s.source: %w", sc.Name, err)
		}
		ss := &sensorSource{name: sc.Name, src: src}
		h.sources = append(h.sources, ss)
		for _, p := range sc.Points {
			h.bySource[p.Name] = ss
		}
		h.states[sc.Name] = sensors.StateConnecting
	}
	for i, ac := range cfg.Assets {
		m := models[ac.Model]
		m.hub = h
		a, err := newAssetRun(ac, m, h.layout)
		if err != nil {
			return nil, fmt.Errorf("assets[%d] (%s): %w", i, ac.Name, err)
		}
		m.assets = append(m.assets, a)
		h.assets = append(h.assets, a)
		for f, name := range a.features {
			h.byPoint[ac.Features[name]] = append(h.byPoint[ac.Features[name]], featureRef{asset: a, feature: f})
		}
	}
	for _, ac := range cfg.Assets {
		if m := models[ac.Model]; !containsModel(h.models, m) {
			h.models = append(h.models, m)
		}
	}
	return h, nil
}

func containsModel(ms []*pdmModel, m *pdmModel) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// emit is every source's Emit: it never blocks.
func (h *sensorHub) emit(s sensors.Sample) {
	select {
	case h.samples <- s:
	default:
		h.dropped.Add(1)
	}
}

// run starts the sources and processes their samples until ctx ends, then
// waits for the sources to stop.
func (h *sensorHub) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range h.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.src.Run(ctx, h.emit); err != nil {
				h.log.Error("sensor source stopped", "source", s.name, "err", err)
			}
		}()
	}
	tick := time.NewTicker(sensorTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			h.flushAll()
			return
		case s := <-h.samples:
			h.handle(s)
		drain:
			for n := 0; n < 1024; n++ {
				select {
				case s := <-h.samples:
					h.handle(s)
				default:
					break drain
				}
			}
			h.advance()
		case now := <-tick.C:
			h.housekeeping(now)
		case f := <-h.ctl:
			f()
		}
	}
}

// handle feeds one sample to every asset feature that reads its point.
func (h *sensorHub) handle(s sensors.Sample) {
	if s.Err != nil {
		h.countError(s)
	}
	for _, r := range h.byPoint[s.Point] {
		a := r.asset
		t := a.scaled(s.Time)
		a.win.Add(r.feature, t, s.Value, s.Err == nil)
		if s.Err == nil {
			a.tele.add(r.feature, s.Value)
		}
		if t.After(a.model.clock) {
			a.model.clock = t
		}
	}
}

// advance finalises grid rows and runs the batches that are complete.
func (h *sensorHub) advance() {
	for _, a := range h.assets {
		a.win.Advance(a.model.clock, a.due)
	}
	for _, m := range h.models {
		if len(m.slots) == len(m.assets) {
			h.runBatch(m)
		}
	}
}

// housekeeping runs batches that waited long enough, sends due telemetry
// and notices source state changes.
func (h *sensorHub) housekeeping(now time.Time) {
	for _, m := range h.models {
		if len(m.slots) > 0 && now.Sub(m.since) >= batchWait {
			h.runBatch(m)
		}
	}
	for _, a := range h.assets {
		if p, ok := a.tele.due(now, a.name); ok {
			h.append(a.telStream, h.layout.Telemetry(a.name), outbox.PriorityTelemetry, p)
		}
	}
	for _, s := range h.sources {
		h.setState(s.name, s.src.Health().State)
	}
}

// setState records a source's state for the retained status and asks for
// the status to be published again when it changed. Sources call it on
// every change (Options.OnState, which also logs it); housekeeping calls it
// too, so a missed call cannot leave a stale state.
func (h *sensorHub) setState(source, state string) {
	h.statesMu.Lock()
	changed := h.states[source] != state
	h.states[source] = state
	h.statesMu.Unlock()
	if changed && h.onState != nil {
		h.onState()
	}
}

// flushAll runs every pending batch, at shutdown.
func (h *sensorHub) flushAll() {
	for _, m := range h.models {
		if len(m.slots) > 0 {
			h.runBatch(m)
		}
	}
}

// sourceStates returns each source's state for the retained status.
func (h *sensorHub) sourceStates() map[string]string {
	out := map[string]string{}
	if h == nil {
		return out
	}
	h.statesMu.Lock()
	defer h.statesMu.Unlock()
	for k, v := range h.states {
		out[k] = v
	}
	return out
}

// append hands one JSON record to the store without waiting for it.
func (h *sensorHub) append(stream, tpc string, prio outbox.Priority, payload []byte) {
	err := h.out.AppendAsync(context.Background(), outbox.Record{
		Stream: stream, Topic: tpc, QoS: 1, Priority: prio, Payload: payload, JSON: true,
	}, func(_ outbox.Receipt, err error) {
		if err != nil {
			h.failed.Add(1)
		}
	})
	if err != nil {
		h.failed.Add(1)
	}
}
