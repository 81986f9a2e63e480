package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"gocv.io/x/gocv"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/update"
)

// updateRig is one device taking updates from a real mosquitto: the real
// updater and registry, one real camera worker fed 30 frames a second, and
// a cloud-side client that pushes and reads the retained model state.
type updateRig struct {
	t      *testing.T
	broker *testutil.Broker
	dir    string
	priv   ed25519.PrivateKey
	u      *updater
	w      *visionWorker
	ob     *outbox.Outbox
	cloud  mqtt.Client
	stop   func()

	mu     sync.Mutex
	state  map[string]modelState
	frames uint64
}

// rigKey is the publisher key every rig trusts, so a restarted rig trusts
// what its predecessor trusted.
var rigKey = func() ed25519.PrivateKey {
	_, priv, err := update.GenerateKey()
	if err != nil {
		panic(err)
	}
	return priv
}()

// newUpdateRig starts a device whose update state lives in dir.
func newUpdateRig(t *testing.T, broker *testutil.Broker, dir string, mod func(*UpdatesConfig)) *updateRig {
	t.Helper()
	cfg := defaultUpdatesConfig()
	cfg.TrustedKeys = []string{update.EncodePublicKey(rigKey.Public().(ed25519.PublicKey))}
	cfg.ChunkTimeout = Duration(3 * time.Second)
	if mod != nil {
		mod(&cfg)
	}
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, quietLog); err != nil {
		t.Fatal(err)
	}
	r := &updateRig{t: t, broker: broker, dir: dir, priv: rigKey, state: map[string]modelState{}}
	full := DefaultConfig()
	full.Models = map[string]ModelConfig{"defect": {
		Path:     testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"),
		Metadata: map[string]string{"version": configuredVersion},
	}}
	full.Updates = cfg
	a := &Agent{cfg: full, log: quietLog, layout: testLayout, models: map[string]string{}}
	a.registry = inference.NewRegistry()
	var err error
	if a.updates, err = newUpdater(cfg, dir, testLayout, a.registry, quietLog); err != nil {
		t.Fatal(err)
	}
	clf, err := a.loadServing("defect", full.Models["defect"])
	if err != nil {
		t.Fatal(err)
	}
	r.ob = openTestOutbox(t)
	w, err := newVisionWorker(visionConfig{camera: "cam1", model: "defect", queue: 4,
		defectTopic: testLayout.DefectEvents(), snapshotTopic: testLayout.Snapshot("{id}")}, nil, clf, r.ob, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	r.w, r.u = w, a.updates
	if err := a.registerSlot("defect", w); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg, worker sync.WaitGroup
	wg.Add(2)
	worker.Add(1)
	go func() { defer worker.Done(); w.run() }()
	go func() { defer wg.Done(); r.u.run(ctx) }()
	go func() { defer wg.Done(); r.feed(ctx) }()
	dev := mqttClient(t, broker, "device", a.connected)
	r.cloud = mqttClient(t, broker, "cloud", func(c mqtt.Client) {
		c.Subscribe(testLayout.ModelsState(), 1, r.onState)
	})
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			dev.Disconnect(50)
			cancel()
			wg.Wait()
			w.queue.Close()
			worker.Wait()
			w.close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// feed publishes a dark belt frame with a bright part 30 times a second.
func (r *updateRig) feed(ctx context.Context) {
	img := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer img.Close()
	renderPart(&img, 200)
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		publish(r.w.queue, img, seq)
		r.mu.Lock()
		r.frames = seq
		r.mu.Unlock()
	}
}

func mqttClient(t *testing.T, b *testutil.Broker, role string, onConnect func(mqtt.Client)) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID(fmt.Sprintf("%s-%d", role, time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(onConnect)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", role, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func (r *updateRig) onState(_ mqtt.Client, m mqtt.Message) {
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

// current returns the last reported state of defect.
func (r *updateRig) current() modelState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state["defect"]
}

// waitState waits until the reported state of defect satisfies ok.
func (r *updateRig) waitState(what string, timeout time.Duration, ok func(modelState) bool) modelState {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		s := r.state["defect"]
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

// manifest builds a signed manifest of file as version, with edit applied
// before signing.
func (r *updateRig) manifest(data []byte, version string, edit func(*update.Manifest)) *update.Manifest {
	r.t.Helper()
	m, err := update.NewManifest("defect", version, data, 0, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	if err := update.Sign(m, r.priv); err != nil {
		r.t.Fatal(err)
	}
	return m
}

// push publishes file as version, the way `lineside models push` does.
func (r *updateRig) push(file, version string) *update.Manifest {
	r.t.Helper()
	data := readModel(r.t, file)
	m := r.manifest(data, version, nil)
	if err := update.Push(r.cloud, "lineside/v1", m, data, nil); err != nil {
		r.t.Fatal(err)
	}
	return m
}

// checkNoFrameLost asserts that every frame fed was inferred: none dropped
// by the queue, none failed.
func (r *updateRig) checkNoFrameLost() {
	r.t.Helper()
	if d, f := r.w.queue.Dropped(), r.w.failed.Load(); d != 0 || f != 0 {
		r.t.Fatalf("%d frames dropped and %d failed (of %d)", d, f, r.frames)
	}
}

// modelVersionsStored returns the model_version of every stored defect event.
func (r *updateRig) modelVersionsStored() map[string]int {
	out := map[string]int{}
	for _, m := range storedRecords(r.t, r.ob, "defect.cam1") {
		var ev struct {
			V string `json:"model_version"`
		}
		json.Unmarshal(m.Payload, &ev)
		out[ev.V]++
	}
	return out
}

// readModel reads a model file: a path, or a name under models/.
func readModel(t *testing.T, file string) []byte {
	t.Helper()
	if !strings.HasPrefix(file, "/") {
		file = testutil.Path(t, "models", file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const defectFile = "defect-cnn/defect-cnn.onnx"

// publishRetained publishes one retained QoS 1 message as the cloud.
func publishRetained(r *updateRig, topic string, payload []byte) error {
	tok := r.cloud.Publish(topic, 1, true, payload)
	tok.WaitTimeout(10 * time.Second)
	return tok.Error()
}

// rollback runs the rollback command on the updater's goroutine, as the
// command dispatcher does.
func (r *updateRig) rollback(args string) (map[string]string, error) {
	type out struct {
		res map[string]string
		err error
	}
	done := make(chan out, 1)
	r.u.enqueue(func() {
		res, err := r.u.rollbackCommand([]byte(args))
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
