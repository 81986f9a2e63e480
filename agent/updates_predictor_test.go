package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/sim"
	"github.com/lineside/lineside/sync/update"
)

// pacedSource plays a simulated machine without end, one sample period
// per sleep of wall time, stamping samples with simulated time from
// replayBase. It stands in for a line that cannot run here.
type pacedSource struct {
	m      *sim.Machine
	points []sensors.PointConfig
	sleep  time.Duration
}

func init() {
	sensors.Register("paced", func(u *url.URL, o sensors.Options) (sensors.Source, error) {
		seed, _ := strconv.ParseInt(u.Query().Get("seed"), 10, 64)
		sleep, _ := time.ParseDuration(u.Query().Get("sleep"))
		m, err := sim.NewMachine(u.Host, seed, 0, sim.DefaultOptions())
		if err != nil {
			return nil, err
		}
		return &pacedSource{m: m, points: o.Points, sleep: sleep}, nil
	})
}

var _ sensors.Source = (*pacedSource)(nil)

func (p *pacedSource) Run(ctx context.Context, emit sensors.Emit) error {
	idx := map[string]int{}
	for i, f := range sim.Features {
		idx[f] = i
	}
	tick := time.NewTicker(p.sleep)
	defer tick.Stop()
	for t := time.Duration(0); ; t += sim.DefaultPeriod {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		s := p.m.SampleAt(t)
		for _, pc := range p.points {
			emit(sensors.Sample{Point: pc.Name, Time: replayBase.Add(t), Value: s.Values[idx[pc.Address]]})
		}
	}
}

func (p *pacedSource) Health() sensors.Health { return sensors.Health{State: sensors.StateConnected} }

// pdmRig is one device whose sensor pipeline serves the pdm model and takes
// its updates from a real mosquitto.
type pdmRig struct {
	t     *testing.T
	a     *Agent
	store *memStore
	cloud mqtt.Client
	stop  func()

	mu    sync.Mutex
	state map[string]modelState
}

func newPdmRig(t *testing.T, broker *testutil.Broker, dir string) *pdmRig {
	t.Helper()
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, quietLog); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Device = DeviceConfig{Site: "s", Line: "l", ID: "dev1"}
	cfg.Models = map[string]ModelConfig{"pdm": {
		Path:     testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx"),
		Metadata: map[string]string{"version": configuredVersion},
	}}
	cfg.Sensors = []SensorConfig{{Name: "line", Source: "paced://motor?seed=1&sleep=1ms",
		Interval: DefaultSensorInterval, Timeout: DefaultSensorTimeout}}
	features := map[string]string{}
	for _, f := range sim.Features {
		cfg.Sensors[0].Points = append(cfg.Sensors[0].Points, PointConfig{Name: "m1_" + f, Address: f})
		features[f] = "m1_" + f
	}
	cfg.Assets = []AssetConfig{{Name: "m1", Model: "pdm", Features: features, K: 3, TimeScale: 1, TelemetryInterval: Duration(time.Hour)}}
	cfg.Updates = defaultUpdatesConfig()
	cfg.Updates.TrustedKeys = []string{update.EncodePublicKey(rigKey.Public().(ed25519.PublicKey))}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	a := New(cfg, quietLog)
	a.layout = testLayout
	a.registry = inference.NewRegistry()
	var err error
	if a.updates, err = newUpdater(cfg.Updates, dir, testLayout, a.registry, quietLog); err != nil {
		t.Fatal(err)
	}
	r := &pdmRig{t: t, a: a, store: &memStore{}, state: map[string]modelState{}}
	if err := a.addSensorsTo(r.store); err != nil {
		t.Fatal(err)
	}
	a.startSensors()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.updates.run(ctx) }()
	dev := mqttClient(t, broker, "device", a.connected)
	r.cloud = mqttClient(t, broker, "cloud", func(c mqtt.Client) {
		c.Subscribe(testLayout.ModelsState(), 1, r.onState)
	})
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			dev.Disconnect(50)
			cancel()
			<-done
			a.stopSensors()
			a.closeSensors()
		})
	}
	t.Cleanup(r.stop)
	return r
}

func (r *pdmRig) onState(_ mqtt.Client, m mqtt.Message) {
	var p struct {
		Models map[string]modelState `json:"models"`
	}
	if err := json.Unmarshal(m.Payload(), &p); err != nil {
		r.t.Errorf("models/state is not JSON: %v", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = p.Models
}

// waitState waits until the reported state of pdm satisfies ok.
func (r *pdmRig) waitState(what string, timeout time.Duration, ok func(modelState) bool) modelState {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		s := r.state["pdm"]
		r.mu.Unlock()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("models/state never showed %s; last %+v", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// push publishes data as version of pdm, signed by the rig's key.
func (r *pdmRig) push(data []byte, version string) {
	r.t.Helper()
	m, err := update.NewManifest("pdm", version, data, 0, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := update.Sign(m, rigKey); err != nil {
		r.t.Fatal(err)
	}
	if err := update.Push(r.cloud, "lineside/v1", m, data, nil); err != nil {
		r.t.Fatal(err)
	}
}

// rollback runs the rollback command on the updater's goroutine.
func (r *pdmRig) rollback(args string) (map[string]string, error) {
	type out struct {
		res map[string]string
		err error
	}
	done := make(chan out, 1)
	r.a.updates.enqueue(func() {
		res, err := r.a.updates.rollbackCommand([]byte(args))
		done <- out{res, err}
	})
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(20 * time.Second):
		r.t.Fatal("rollback command did not finish")
		return nil, nil
	}
}

// events returns the health events stored so far.
func (r *pdmRig) events() []healthEvent {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	var out []healthEvent
	for _, rec := range r.store.recs {
		if rec.Stream != "health.m1" && rec.Stream != "alarm.m1" {
			continue
		}
		var e healthEvent
		if err := json.Unmarshal(rec.Payload, &e); err != nil {
			r.t.Fatalf("%s: %v", rec.Payload, err)
		}
		out = append(out, e)
	}
	return out
}

// waitEvents waits until a health event on version is stored after the
// first n events.
func (r *pdmRig) waitEvents(version string, n int) []healthEvent {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := r.events()
		for _, e := range evs[min(n, len(evs)):] {
			if e.Version == version {
				return evs
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no health event on model version %s after the first %d of %d", version, n, len(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// servingVersion returns the version the pipeline's pdm model serves.
func (r *pdmRig) servingVersion() string {
	var v string
	if err := r.a.onPipeline("pdm", func(_ *sensorHub, m *pdmModel) { v = m.version }); err != nil {
		r.t.Fatal(err)
	}
	return v
}

// checkContinuous asserts that the health events are on the 10-minute
// stride without a gap and that the window was filled once only: a swap
// kept the windows.
func checkContinuous(t *testing.T, evs []healthEvent) {
	t.Helper()
	insufficient := 0
	for i, e := range evs {
		if e.State == "insufficient_data" {
			insufficient++
			continue
		}
		if i > 0 && evs[i-1].State != "insufficient_data" && e.TS.Sub(evs[i-1].TS) != 10*time.Minute {
			t.Fatalf("event %d (%s) at %v follows %v (%s): a window was lost", i, e.Version, e.TS, evs[i-1].TS, evs[i-1].Version)
		}
	}
	if insufficient > 1 {
		t.Fatalf("%d insufficient-data events; want only the one while the first window fills", insufficient)
	}
}

// TestUpdatePredictorSwapRefuseRollback pushes a new version of the
// failure-prediction model while the sensor pipeline runs: it is swapped in
// between batches without losing a window, a model whose features differ is
// refused while the new one keeps serving, a restart serves the recorded
// version, and the rollback command returns to the configured one.
func TestUpdatePredictorSwapRefuseRollback(t *testing.T) {
	broker := testutil.StartBroker(t)
	dir := t.TempDir()
	r := newPdmRig(t, broker, dir)
	r.waitState("the configured version", 10*time.Second, serving(configuredVersion))
	r.waitEvents(configuredVersion, 5)

	data := readModel(t, "pdm-lstm/pdm-lstm.onnx")
	r.push(data, "1.0.0")
	s := r.waitState("1.0.0 serving", 20*time.Second, serving("1.0.0"))
	if s.Previous != configuredVersion || s.SwapMS <= 0 {
		t.Fatalf("state %+v", s)
	}
	evs := r.waitEvents("1.0.0", 0)
	checkContinuous(t, evs)

	// The same model with two features swapped in its contract.
	const order = "vibration_rms,temperature,current,speed"
	bad := bytes.Replace(data, []byte(order), []byte("temperature,vibration_rms,current,speed"), 1)
	if bytes.Equal(bad, data) {
		t.Fatalf("%q not found in the model", order)
	}
	r.push(bad, "1.1.0")
	s = r.waitState("1.1.0 refused", 20*time.Second, func(s modelState) bool { return s.State == stateFailed })
	if s.Serving != "1.0.0" || !strings.Contains(s.LastError, "1.1.0") || !strings.Contains(s.LastError, "features") {
		t.Fatalf("state %+v; want 1.1.0 refused for its features", s)
	}
	refusal := s.LastError
	n := len(r.events())
	evs = r.waitEvents("1.0.0", n)
	for _, e := range evs {
		if e.Version == "1.1.0" {
			t.Fatalf("event on the refused version: %+v", e)
		}
	}
	checkContinuous(t, evs)
	r.stop()

	st, _ := update.OpenStore(dir)
	if p, _ := st.Pointers("pdm"); p != (update.Pointers{Current: "1.0.0", Previous: configuredVersion}) {
		t.Fatalf("pointers %+v", p)
	}
	r2 := newPdmRig(t, broker, dir)
	if v := r2.servingVersion(); v != "1.0.0" {
		t.Fatalf("after a restart the pipeline serves %q, want 1.0.0", v)
	}
	r2.waitState("1.0.0 after restart", 10*time.Second, func(s modelState) bool { return s.Serving == "1.0.0" })
	r2.waitEvents("1.0.0", 5)
	n = len(r2.events())
	res, err := r2.rollback(`{"model":"pdm"}`)
	if err != nil || res["to"] != configuredVersion || res["from"] != "1.0.0" {
		t.Fatalf("rollback: %v %v", res, err)
	}
	s = r2.waitState("rolled back", 10*time.Second, func(s modelState) bool { return s.State == stateRolledBack })
	if s.Serving != configuredVersion || !strings.Contains(s.LastError, "rollback command") {
		t.Fatalf("state %+v", s)
	}
	evs = r2.waitEvents(configuredVersion, n)
	checkContinuous(t, evs)
	t.Logf("refusal: %s; %d health events after the restart, the last on %s", refusal, len(evs), evs[len(evs)-1].Version)
}

// TestUpdatePredictorAutoRollback rolls a new version back when its batches
// fail within the probation window; the failures (non-finite outputs) are
// counted as the pipeline counts them, since a model that fails only on
// real windows is not at hand.
func TestUpdatePredictorAutoRollback(t *testing.T) {
	r := newPdmRig(t, testutil.StartBroker(t), t.TempDir())
	r.waitState("the configured version", 10*time.Second, serving(configuredVersion))
	r.push(readModel(t, "pdm-lstm/pdm-lstm.onnx"), "1.0.0")
	r.waitState("1.0.0 serving", 20*time.Second, serving("1.0.0"))
	nan := []float32{float32(math.NaN())}
	if err := r.a.onPipeline("pdm", func(_ *sensorHub, m *pdmModel) {
		for range DefaultRollbackMaxErrors {
			if m.stats.observe("1.0.0", nan, nil) == nil {
				t.Error("a non-finite p_fail was not counted as an error")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	s := r.waitState("an automatic rollback", 10*time.Second, func(s modelState) bool { return s.State == stateRolledBack })
	if s.Serving != configuredVersion || !strings.Contains(s.LastError, "non-finite") {
		t.Fatalf("state %+v", s)
	}
	if v := r.servingVersion(); v != configuredVersion {
		t.Fatalf("pipeline serves %q", v)
	}
}
