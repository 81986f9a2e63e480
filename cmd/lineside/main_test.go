package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
)

// binary is the lineside executable built once for the end-to-end tests,
// which run it as the daemon it is: a separate process, signals, exit codes.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lineside-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "lineside")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build lineside: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one `lineside run` process.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs syncBuffer // stdout and stderr
	done chan struct{}
	err  error
}

// Logs returns what the daemon printed so far.
func (d *daemon) Logs() string { return d.logs.String() }

func startDaemon(t *testing.T, config string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, done: make(chan struct{})}
	d.cmd = exec.Command(binary, "run", "--config", config)
	d.cmd.Env = append(os.Environ(), "LINESIDE_TEST_ORT_LIBRARY=")
	d.cmd.Env = append(d.cmd.Env, env...)
	d.cmd.Stdout, d.cmd.Stderr = &d.logs, &d.logs
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.Logs())
		}
	})
	return d
}

// stop sends SIGTERM and returns the exit code.
func (d *daemon) stop() int {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatal("daemon did not stop within 30s of SIGTERM")
	}
	return d.cmd.ProcessState.ExitCode()
}

// wait waits for the process to exit on its own and returns the exit code.
func (d *daemon) wait(timeout time.Duration) int {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.t.Fatalf("daemon still running after %s", timeout)
	}
	return d.cmd.ProcessState.ExitCode()
}

// waitLog waits until the daemon's log contains s.
func (d *daemon) waitLog(s string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(d.Logs(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("daemon log has no %q after %s", s, timeout)
}

// testConfig writes a config for the daemon and returns its path.
type testConfig struct {
	Dir, Broker, Video, Model, Library string
	// Metadata is the body of the model's YAML metadata mapping, e.g.
	// `version: "0.1.0-test"`; empty for none.
	Metadata string
	FPS      int
	Loop     bool
}

func (c testConfig) write(t *testing.T) string {
	t.Helper()
	if c.Model == "" {
		c.Model = testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx")
	}
	if c.Library == "" {
		c.Library = testutil.ORTLibrary(t)
	}
	if c.FPS == 0 {
		c.FPS = 50
	}
	yaml := fmt.Sprintf(`device: {site: s1, line: l1, id: dev1}
log: {level: debug}
store: {path: %q, lock_timeout: 1s}
mqtt: {broker: %q}
inference: {library: %q}
models:
  defect: {path: %q, metadata: {%s}}
cameras:
  - {name: cam1, source: "file://%s?loop=%t", fps: %d, model: defect}
http: {listen: ""}
`, filepath.Join(c.Dir, "store", "lineside.db"), c.Broker, c.Library, c.Model, c.Metadata, c.Video, c.Loop, c.FPS)
	p := filepath.Join(c.Dir, "lineside.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// defectEvent is the part of a defect payload the tests check.
type defectEvent struct {
	ID           string             `json:"id"`
	Seq          uint64             `json:"seq"`
	TS           time.Time          `json:"ts"`
	Camera       string             `json:"camera"`
	Model        string             `json:"model"`
	ModelVersion string             `json:"model_version"`
	Label        string             `json:"label"`
	Score        float64            `json:"score"`
	Scores       map[string]float64 `json:"scores"`
	LatencyMS    *float64           `json:"latency_ms"`
	Snapshot     *string            `json:"snapshot"`
}

// subscriber collects messages from a real broker.
type subscriber struct {
	t      *testing.T
	client mqtt.Client
	mu     sync.Mutex
	events []defectEvent
	raw    map[string][]byte // topic -> last payload
	// subscribed is set once the broker acknowledged the subscription of
	// the current connection.
	subscribed atomic.Bool
}

func subscribe(t *testing.T, broker, filter string) *subscriber {
	return subscribeAs(t, broker, filter, fmt.Sprintf("test-sub-%d", time.Now().UnixNano()), true)
}

// subscribeAs subscribes with a given client id; with clean false the broker
// keeps the session, so QoS 1 messages published while the subscriber is
// disconnected are delivered when it reconnects.
func subscribeAs(t *testing.T, broker, filter, clientID string, clean bool) *subscriber {
	t.Helper()
	s := &subscriber{t: t, raw: map[string][]byte{}}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).
		SetCleanSession(clean).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetAutoReconnect(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			s.subscribed.Store(false)
			tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.raw[m.Topic()] = append([]byte(nil), m.Payload()...)
				if strings.HasSuffix(m.Topic(), "/events/defect") {
					var ev defectEvent
					if err := json.Unmarshal(m.Payload(), &ev); err != nil {
						t.Errorf("defect payload is not JSON: %v: %s", err, m.Payload())
						return
					}
					s.events = append(s.events, ev)
				}
			})
			go func() {
				if tok.Wait() && tok.Error() == nil {
					s.subscribed.Store(true)
				}
			}()
		})
	s.client = mqtt.NewClient(opts)
	s.client.Connect()
	t.Cleanup(func() { s.client.Disconnect(100) })
	return s
}

func (s *subscriber) Events() []defectEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]defectEvent(nil), s.events...)
}

func (s *subscriber) Payload(topic string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw[topic]
}

// waitEvents waits until at least n defect events arrived.
func (s *subscriber) waitEvents(n int, timeout time.Duration) []defectEvent {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ev := s.Events(); len(ev) >= n {
			return ev
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("got %d defect events, want %d within %s", len(s.Events()), n, timeout)
	return nil
}

// settle waits until no new event arrived for quiet.
func (s *subscriber) settle(quiet time.Duration) []defectEvent {
	n := -1
	for {
		time.Sleep(quiet)
		ev := s.Events()
		if len(ev) == n {
			return ev
		}
		n = len(ev)
	}
}
