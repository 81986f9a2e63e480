package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/ledger"
	"github.com/lineside/lineside/sync/outbox"
)

// chaosConfig writes a daemon config for the crash and fault tests: n
// cameras at fps, either synthetic conveyors (Synthetic) or looping the
// file Video, and Machines simulated machines (sim://motor, bearing, pump in
// turn) watched by the pdm model, sped up by Speed, each with a telemetry
// record every second.
type chaosConfig struct {
	Dir, Broker string
	Video       string // the video file:// cameras loop
	Synthetic   bool   // synthetic://conveyor cameras instead of file:// ones
	Cameras     int
	FPS         int
	Machines    int
	Speed       float64 // sim:// speed and the assets' time_scale; 0 takes chaosSpeed
	MaxBytes    string  // store.max_bytes; "" takes the default
	Snapshots   bool    // a JPEG snapshot of every frame
	MQTT        string  // extra mqtt keys, "k: v, ..."
}

// chaosSpeed runs the simulated machines at two machine hours per second:
// a sample every 17 ms, the pdm model's first window (one machine hour)
// full after half a second, then a health record per asset every 83 ms.
const chaosSpeed = 7200

// chaosMachines are the kinds of the simulated machines, taken in turn.
var chaosMachines = [...]string{"motor", "bearing", "pump"}

// chaosLoad is the load of the crash and outage tests: a synthetic camera
// at 100 fps and three simulated machines, so that defect, health and
// telemetry records flow at once.
func chaosLoad(dir, broker string) chaosConfig {
	return chaosConfig{Dir: dir, Broker: broker, Synthetic: true, Cameras: 1, FPS: 100, Machines: 3}
}

// assetNames are the names of the simulated machines' assets.
func (c chaosConfig) assetNames() []string {
	names := make([]string, c.Machines)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", chaosMachines[i%len(chaosMachines)], i+1)
	}
	return names
}

// streams are the record streams the config's cameras and machines feed.
func (c chaosConfig) streams() []string {
	var s []string
	for i := 1; i <= c.Cameras; i++ {
		s = append(s, fmt.Sprintf("defect.cam%d", i))
	}
	for _, a := range c.assetNames() {
		s = append(s, "health."+a, "telemetry."+a)
	}
	return s
}

func (c chaosConfig) write(t *testing.T) string {
	t.Helper()
	if c.Cameras > 0 && c.Synthetic == (c.Video != "") {
		t.Fatal("chaosConfig: cameras need either Synthetic or a Video")
	}
	if c.Speed == 0 {
		c.Speed = chaosSpeed
	}
	var b strings.Builder
	fmt.Fprintf(&b, "device: {site: s1, line: l1, id: dev1}\nlog: {level: info}\n")
	fmt.Fprintf(&b, "store: {path: %q, lock_timeout: 2s", storePath(c.Dir))
	if c.MaxBytes != "" {
		fmt.Fprintf(&b, ", max_bytes: %s", c.MaxBytes)
	}
	fmt.Fprintf(&b, "}\nmqtt: {broker: %q, inflight: %d", c.Broker, window)
	if c.MQTT != "" {
		fmt.Fprintf(&b, ", %s", c.MQTT)
	}
	fmt.Fprintf(&b, "}\ninference: {library: %q}\nhttp: {listen: \"\"}\nstatus: {metrics_interval: 500ms}\n", testutil.ORTLibrary(t))
	if c.Cameras > 0 || c.Machines > 0 {
		b.WriteString("models:\n")
	}
	if c.Cameras > 0 {
		fmt.Fprintf(&b, "  defect: {path: %q}\n", testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"))
	}
	if c.Machines > 0 {
		fmt.Fprintf(&b, "  pdm: {path: %q}\n", testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx"))
	}
	if c.Cameras > 0 {
		b.WriteString("cameras:\n")
		for i := 1; i <= c.Cameras; i++ {
			src := fmt.Sprintf("file://%s?loop=true", c.Video)
			if c.Synthetic {
				src = fmt.Sprintf("synthetic://conveyor?seed=%d&defect_rate=0.2", i)
			}
			fmt.Fprintf(&b, "  - {name: cam%d, source: %q, fps: %d, model: defect", i, src, c.FPS)
			if c.Snapshots {
				b.WriteString(", snapshots: {mode: every_n, every_n: 1, quality: 95}")
			}
			b.WriteString("}\n")
		}
	}
	if c.Machines > 0 {
		var assets strings.Builder
		b.WriteString("sensors:\n")
		for i, a := range c.assetNames() {
			fmt.Fprintf(&b, "  - {name: %s, source: \"sim://%s?seed=25&asset=%d&speed=%g\", points: ["+
				"{name: %[1]s_vib, address: vibration_rms}, {name: %[1]s_temp, address: temperature}, "+
				"{name: %[1]s_cur, address: current}, {name: %[1]s_speed, address: speed}]}\n",
				a, chaosMachines[i%len(chaosMachines)], i, c.Speed)
			fmt.Fprintf(&assets, "  - {name: %s, model: pdm, time_scale: %g, telemetry_interval: 1s, features: "+
				"{vibration_rms: %[1]s_vib, temperature: %[1]s_temp, current: %[1]s_cur, speed: %[1]s_speed}}\n", a, c.Speed)
		}
		b.WriteString("assets:\n" + assets.String())
	}
	p := filepath.Join(c.Dir, "lineside.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func storePath(dir string) string { return filepath.Join(dir, "store", "lineside.db") }

// storedIDs opens the store of a stopped daemon and returns the ids of the
// records still in it, and those listed in drop reports still in it (both
// are accounted for: the next run publishes them).
func storedIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ob, err := outbox.Open(storePath(dir), outbox.Options{Device: "dev1", LockTimeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	msgs, _, err := ob.Next(outbox.Key{}, 1<<30, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[fmt.Sprintf("dev1:%s:%d", m.Stream, m.Seq)] = true
		if m.Stream != "drops" {
			continue
		}
		var rep struct{ Drops []ledger.Drop }
		if err := json.Unmarshal(m.Payload, &rep); err != nil {
			t.Fatalf("stored drop report %s: %v", m.Payload, err)
		}
		for _, d := range rep.Drops {
			for _, r := range d.Ranges {
				for v := r[0]; v <= r[1]; v++ {
					ids[fmt.Sprintf("dev1:%s:%d", d.Stream, v)] = true
				}
			}
		}
	}
	return ids
}

// watchProc is a `lineside watch --ledger` process following a broker.
type watchProc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWatch runs the ledger against broker and waits until it subscribed.
func startWatch(t *testing.T, broker string, args ...string) *watchProc {
	t.Helper()
	w := &watchProc{t: t, done: make(chan struct{})}
	args = append([]string{"watch", "--broker", broker, "--ledger", "--from-start", "--json", "--interval", "5s",
		"--client-id", fmt.Sprintf("ledger-%d", time.Now().UnixNano())}, args...)
	w.cmd = exec.Command(binary, args...)
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			t.Logf("watch stderr:\n%s", tail(w.stderr.String(), 3000))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(w.stderr.String(), "watch: subscribed") {
		if time.Now().After(deadline) {
			t.Fatalf("watch did not subscribe: %s", w.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w
}

// report lets messages in transit arrive for grace, stops the watch
// (SIGTERM) and returns its final ledger and exit code.
func (w *watchProc) report(grace time.Duration) (ledger.Report, int) {
	w.t.Helper()
	time.Sleep(grace)
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.t.Fatal("watch did not stop on SIGTERM")
	}
	var rep ledger.Report
	if err := json.Unmarshal([]byte(w.stdout.String()), &rep); err != nil {
		w.t.Fatalf("watch report: %v: %s", err, w.stdout.String())
	}
	return rep, w.cmd.ProcessState.ExitCode()
}

// missingIDs lists the ids the ledger misses, stream by stream.
func missingIDs(rep ledger.Report) []string {
	var ids []string
	for name, s := range rep.Streams {
		for _, r := range s.MissingIDs {
			for v := r[0]; v <= r[1]; v++ {
				ids = append(ids, fmt.Sprintf("%s:%d", name, v))
			}
		}
	}
	return ids
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// streamWatch counts the records of dev1 reaching the broker, by stream
// (QoS 0: a sign of life of each stream, not a ledger).
type streamWatch struct {
	mu sync.Mutex
	n  map[string]int
}

func watchStreams(t *testing.T, broker string) *streamWatch {
	t.Helper()
	w := &streamWatch{n: map[string]int{}}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("test-streams-%d", time.Now().UnixNano())).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.Subscribe("lineside/v1/s1/l1/dev1/#", 0, func(_ mqtt.Client, msg mqtt.Message) {
				if r, err := ledger.Parse(msg.Topic(), msg.Payload()); err == nil {
					w.mu.Lock()
					w.n[r.Stream]++
					w.mu.Unlock()
				}
			})
		})
	c := mqtt.NewClient(opts)
	c.Connect().Wait()
	t.Cleanup(func() { c.Disconnect(50) })
	return w
}

// counts returns the records seen so far, by stream.
func (w *streamWatch) counts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.n)
}

// waitNew waits until each of streams has a record beyond the counts of
// since.
func (w *streamWatch) waitNew(t *testing.T, since map[string]int, streams []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		now := w.counts()
		var stale []string
		for _, s := range streams {
			if now[s] <= since[s] {
				stale = append(stale, s)
			}
		}
		if len(stale) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new record on %v within %s (seen: %v)", stale, timeout, now)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
