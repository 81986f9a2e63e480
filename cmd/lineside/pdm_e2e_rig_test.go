package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
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
	"github.com/lineside/lineside/sensors/plc"
	"github.com/lineside/lineside/sensors/sim"
)

// simPLC is one `lineside sim plc` process.
type simPLC struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startSimPLC runs the simulator with the given flags; it is killed when
// the test ends.
func startSimPLC(t *testing.T, args ...string) *simPLC {
	t.Helper()
	p := &simPLC{cmd: exec.Command(binary, append([]string{"sim", "plc"}, args...)...), done: make(chan struct{})}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill ends the simulator the hard way, as a power cut would.
func (p *simPLC) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// readTruth reads the failure times of every life in the truth files,
// later files replacing earlier lines of the same asset and life.
func readTruth(t *testing.T, files ...string) []plc.TruthLine {
	t.Helper()
	byLife := map[[2]int]plc.TruthLine{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("truth file: %v", err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			var l plc.TruthLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("truth line %q: %v", sc.Text(), err)
			}
			byLife[[2]int{l.Asset, l.Life}] = l
		}
	}
	out := make([]plc.TruthLine, 0, len(byLife))
	for _, l := range byLife {
		out = append(out, l)
	}
	return out
}

// simLives returns the lives of m that fail before until.
func simLives(m *sim.Machine, until time.Duration) []sim.Life {
	var out []sim.Life
	for i := 0; m.Life(i).Failure < until; i++ {
		out = append(out, m.Life(i))
	}
	return out
}

// pdmEvent is a {base}/events/health payload.
type pdmEvent struct {
	TS        time.Time `json:"ts"`
	MachineTS time.Time `json:"machine_ts"`
	Asset     string    `json:"asset"`
	PFail     *float64  `json:"p_fail"`
	State     string    `json:"state"`
	Missing   []string  `json:"missing"`
}

// pdmWatch collects health events and the retained status.
type pdmWatch struct {
	mu     sync.Mutex
	events []pdmEvent
	status map[string]string // sensors map of the latest status
	counts json.RawMessage   // sensors figures of the latest metrics
}

func watchPDM(t *testing.T, broker, base string) *pdmWatch {
	t.Helper()
	w := &pdmWatch{}
	handle := func(_ mqtt.Client, m mqtt.Message) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch {
		case strings.HasSuffix(m.Topic(), "/events/health"):
			var e pdmEvent
			if err := json.Unmarshal(m.Payload(), &e); err != nil {
				t.Errorf("health payload %s: %v", m.Payload(), err)
				return
			}
			w.events = append(w.events, e)
		case strings.HasSuffix(m.Topic(), "/status"):
			var st struct {
				Sensors map[string]string `json:"sensors"`
			}
			if err := json.Unmarshal(m.Payload(), &st); err == nil && st.Sensors != nil {
				w.status = st.Sensors
			}
		case strings.HasSuffix(m.Topic(), "/metrics"):
			var mt struct {
				Sensors json.RawMessage `json:"sensors"`
			}
			if err := json.Unmarshal(m.Payload(), &mt); err == nil && mt.Sensors != nil {
				w.counts = mt.Sensors
			}
		}
	}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("pdm-watch-%d", time.Now().UnixNano())).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetAutoReconnect(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.SubscribeMultiple(map[string]byte{base + "/events/health": 1, base + "/status": 1, base + "/metrics": 0}, handle)
		})
	c := mqtt.NewClient(opts)
	c.Connect()
	t.Cleanup(func() { c.Disconnect(100) })
	return w
}

// Events returns the health events so far.
func (w *pdmWatch) Events() []pdmEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]pdmEvent(nil), w.events...)
}

// Counters returns the sensors figures of the latest metrics.
func (w *pdmWatch) Counters() json.RawMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts
}

// waitStatus waits until every named source has a state in want.
func (w *pdmWatch) waitStatus(t *testing.T, timeout time.Duration, sources []string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		ok := true
		for _, s := range sources {
			ok = ok && contains(want, w.status[s])
		}
		st := fmt.Sprint(w.status)
		w.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("retained status sensors %s; want %v in %v within %s", st, sources, want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// publishMachine publishes machine m's samples on topic as JSON, one
// message per simulated period at its wall-clock instant under clock, the
// way a plant gateway would, until ctx ends. NaN features are left out and
// samples of a sensor outage are not sent.
func publishMachine(ctx context.Context, t *testing.T, broker, topic string, m *sim.Machine, clock sim.Clock, period time.Duration) {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("plant-gw-%d", time.Now().UnixNano())).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetAutoReconnect(true)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Errorf("plant gateway: connect: %v", tok.Error())
		return
	}
	defer c.Disconnect(100)
	tick := time.NewTicker(clock.Wall(period) / 4)
	defer tick.Stop()
	k := int64(clock.Sim(time.Now()) / period)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for ; time.Duration(k)*period <= clock.Sim(now); k++ {
				at := time.Duration(k) * period
				s := m.SampleAt(at)
				if s.Missing {
					continue
				}
				msg := map[string]any{"ts": clock.Start.Add(clock.Wall(at)).Format(time.RFC3339Nano)}
				for f, name := range sim.Features {
					if !math.IsNaN(s.Values[f]) {
						msg[name] = s.Values[f]
					}
				}
				b, _ := json.Marshal(msg)
				c.Publish(topic, 0, false, b)
			}
		}
	}
}

// pdmConfig writes the agent's config: assets 0 and 2 over Modbus, asset 1
// over OPC UA, asset 3 over MQTT, all on the pdm-lstm model at timeScale.
func pdmConfig(t *testing.T, dir, broker, modbus, opcua string, timeScale float64) string {
	t.Helper()
	var mb, ua, mq []string
	for _, i := range []int{0, 2} {
		for f, name := range sim.Features {
			mb = append(mb, fmt.Sprintf(`{name: a%d_%s, address: "holding:%d", type: float32}`, i, name, i*plc.BlockSize+2*f))
		}
	}
	for _, name := range sim.Features {
		ua = append(ua, fmt.Sprintf(`{name: a1_%s, address: "ns=2;s=asset1.%s"}`, name, name))
		mq = append(mq, fmt.Sprintf(`{name: a3_%s, address: plant/a3, field: %s, time_field: ts}`, name, name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `device: {site: s1, line: l1, id: dev1}
log: {level: info}
store: {path: %q, lock_timeout: 1s}
mqtt: {broker: %q}
inference: {library: %q}
models:
  pdm: {path: %q}
http: {listen: ""}
status: {metrics_interval: 1s}
sensors:
  - {name: plc_modbus, source: "modbus://%s", interval: 25ms, timeout: 500ms, points: [%s]}
  - {name: plc_opcua, source: "opcua://%s", interval: 25ms, timeout: 1s, points: [%s]}
  - {name: plant_mqtt, source: "mqtt://%s", points: [%s]}
assets:
`, filepath.Join(dir, "store", "lineside.db"), broker, testutil.ORTLibrary(t),
		testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx"),
		modbus, strings.Join(mb, ", "), opcua, strings.Join(ua, ", "),
		strings.TrimPrefix(broker, "tcp://"), strings.Join(mq, ", "))
	for i := range 4 {
		var fs []string
		for _, name := range sim.Features {
			fs = append(fs, fmt.Sprintf("%s: a%d_%s", name, i, name))
		}
		fmt.Fprintf(&b, "  - {name: a%d, model: pdm, time_scale: %g, telemetry_interval: 0, features: {%s}}\n",
			i, timeScale, strings.Join(fs, ", "))
	}
	p := filepath.Join(dir, "lineside.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
