package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
)

// statusLog records every {base}/status payload and the defect events per
// camera, in arrival order.
type statusLog struct {
	mu       sync.Mutex
	statuses []map[string]string // cameras: name -> state
	events   map[string]int      // camera -> defect events
}

func watchStatus(t *testing.T, broker, base string) *statusLog {
	t.Helper()
	l := &statusLog{events: map[string]int{}}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("test-status-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.Subscribe(base+"/status", 1, func(_ mqtt.Client, m mqtt.Message) {
				var st struct {
					State   string            `json:"state"`
					Cameras map[string]string `json:"cameras"`
				}
				if json.Unmarshal(m.Payload(), &st) != nil || st.State != "online" {
					return
				}
				l.mu.Lock()
				l.statuses = append(l.statuses, st.Cameras)
				l.mu.Unlock()
			})
			c.Subscribe(base+"/events/defect", 1, func(_ mqtt.Client, m mqtt.Message) {
				var ev defectEvent
				if json.Unmarshal(m.Payload(), &ev) == nil {
					l.mu.Lock()
					l.events[ev.Camera]++
					l.mu.Unlock()
				}
			})
		})
	c := mqtt.NewClient(opts)
	c.Connect().WaitTimeout(10 * time.Second)
	t.Cleanup(func() { c.Disconnect(100) })
	return l
}

// waitFor waits until the newest status satisfies cond, and returns how many
// statuses had arrived then.
func (l *statusLog) waitFor(t *testing.T, what string, timeout time.Duration, cond func(map[string]string) bool) int {
	t.Helper()
	var n int
	err := testutil.WaitFor(timeout, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		n = len(l.statuses)
		return n > 0 && cond(l.statuses[n-1])
	})
	if err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("no status with %s after %s; statuses: %v", what, timeout, l.statuses)
	}
	return n
}

func (l *statusLog) eventCount(cam string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[cam]
}

// TestCamerasEndToEnd runs the daemon on three cameras: a real HTTP MJPEG
// stream that is killed and restarted mid-run, a stream on a closed port, and
// a folder that images arrive in. The stream's outage and recovery are
// published in the retained status; the unreachable camera says why in the
// log and stays failed; the others keep working; every image in the folder
// becomes exactly one defect event.
func TestCamerasEndToEnd(t *testing.T) {
	broker := testutil.StartBroker(t)
	mj := testutil.StartMJPEG(t, 160, 120, 15)
	dir, images := t.TempDir(), t.TempDir()
	dropImage := func(i int) {
		name := fmt.Sprintf("part-%04d.jpg", i)
		tmp := filepath.Join(images, "."+name)
		os.WriteFile(tmp, testutil.EncodeJPEG(t, 96, 96, i), 0o644)
		os.Rename(tmp, filepath.Join(images, name))
	}
	dropImage(0)
	os.WriteFile(filepath.Join(images, "part-0000b.jpg"), []byte("not an image"), 0o644)
	closed := testutil.FreePort(t)
	yaml := fmt.Sprintf(`device: {site: s1, line: l1, id: dev1}
log: {level: info}
store: {path: %q, lock_timeout: 1s}
mqtt: {broker: %q}
inference: {library: %q}
models:
  defect: {path: %q}
cameras:
  - {name: line, source: "%s#open_timeout=2s", fps: 15, model: defect, stall_timeout: 1s, backoff_min: 50ms, backoff_max: 300ms}
  - {name: gone, source: "http://127.0.0.1:%d/stream.mjpg", model: defect, backoff_min: 50ms, backoff_max: 300ms}
  - {name: folder, source: "dir://%s?pattern=*.jpg&poll=50ms&settle=200ms", fps: 20, model: defect}
http: {listen: ""}
`, filepath.Join(dir, "store", "lineside.db"), broker.URL(), testutil.ORTLibrary(t),
		testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"), mj.URL(), closed, images)
	cfg := filepath.Join(dir, "lineside.yaml")
	os.WriteFile(cfg, []byte(yaml), 0o644)

	st := watchStatus(t, broker.URL(), "lineside/v1/s1/l1/dev1")
	d := startDaemon(t, cfg)
	d.waitLog("lineside running", 60*time.Second)
	st.waitFor(t, "line streaming and gone failed", 30*time.Second, func(c map[string]string) bool {
		return c["line"] == "streaming" && c["gone"] == "failed" && c["folder"] == "streaming"
	})
	d.waitLog("connection refused", 10*time.Second)

	mj.Stop()
	st.waitFor(t, "line down", 20*time.Second, func(c map[string]string) bool {
		return c["line"] == "reconnecting" || c["line"] == "failed" || c["line"] == "stalled"
	})
	before := st.eventCount("line")
	mj.Start()
	st.waitFor(t, "line back", 20*time.Second, func(c map[string]string) bool { return c["line"] == "streaming" })
	if testutil.WaitFor(20*time.Second, func() bool { return st.eventCount("line") > before+10 }) != nil {
		t.Fatalf("no events from the stream after it came back: %d", st.eventCount("line"))
	}

	for i := 1; i <= 3; i++ {
		dropImage(i)
		time.Sleep(100 * time.Millisecond)
	}
	if testutil.WaitFor(20*time.Second, func() bool { return st.eventCount("folder") >= 4 }) != nil {
		t.Fatalf("folder images: %d events, want 4", st.eventCount("folder"))
	}
	time.Sleep(500 * time.Millisecond) // a repeated image would show up now
	if n := st.eventCount("folder"); n != 4 {
		t.Fatalf("folder images: %d events, want 4 (each image once)", n)
	}
	if !strings.Contains(d.Logs(), "part-0000b.jpg") {
		t.Fatalf("the undecodable image is not reported:\n%s", d.Logs())
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(d.Logs(), "panic") {
		t.Fatalf("panic:\n%s", d.Logs())
	}
}
