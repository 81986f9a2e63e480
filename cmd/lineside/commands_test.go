package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

const cmdBase = "lineside/v1/s1/l1/dev1/cmd/"

// cmdReply is a command's reply.
type cmdReply struct {
	ID     string          `json:"id"`
	OK     bool            `json:"ok"`
	Error  *string         `json:"error"`
	Result json.RawMessage `json:"result"`
}

// command publishes one command with a fresh id and waits for its reply.
func (s *subscriber) command(name, args string) cmdReply {
	s.t.Helper()
	id := fmt.Sprintf("t%d", time.Now().UnixNano())
	payload := `{"id":"` + id + `"` + map[bool]string{true: "", false: "," + args}[args == ""] + `}`
	s.client.Publish(cmdBase+name, 1, false, payload).WaitTimeout(5 * time.Second)
	var r cmdReply
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if json.Unmarshal(s.Payload(cmdBase+name+"/reply"), &r) == nil && r.ID == id {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("no reply to %s %s", name, payload)
	return r
}

// cameraStates returns the cameras of the retained status.
func (s *subscriber) cameraStates() map[string]string {
	var st struct {
		Cameras map[string]string `json:"cameras"`
	}
	json.Unmarshal(s.Payload("lineside/v1/s1/l1/dev1/status"), &st)
	return st.Cameras
}

func (s *subscriber) waitCameras(want string) {
	s.t.Helper()
	err := testutil.WaitFor(30*time.Second, func() bool {
		var names []string
		for n, st := range s.cameraStates() {
			if st == "streaming" {
				names = append(names, n)
			}
		}
		return strings.Join(sortStrings(names), ",") == want
	})
	if err != nil {
		s.t.Fatalf("streaming cameras %v, want %s", s.cameraStates(), want)
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// TestCommandsAndReload drives the daemon through its commands against
// mosquitto: ping, bad input, a flood, snapshot, restart-source, reload by
// command (a camera added; an invalid file refused with every error while
// the cameras keep running) and by SIGHUP (the camera removed), and reads
// /metrics and /healthz.
func TestCommandsAndReload(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 20, 320, 240)
	httpAddr := testutil.FreeAddr(t)
	cfg := writeVisionConfig(t, dir, broker.URL(), video, 10, "", "")
	orig, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(string(orig), `http: {listen: ""}`, "http: {listen: "+httpAddr+"}", 1) +
		"status: {metrics_interval: 500ms}\n"
	os.WriteFile(cfg, []byte(base), 0o644)
	sub := subscribe(t, broker.URL(), "lineside/v1/#")
	d := startDaemon(t, cfg)
	sub.waitCameras("cam1")

	if r := sub.command("ping", ""); !r.OK || !strings.Contains(string(r.Result), `"pong":true`) {
		t.Fatalf("ping: %+v %s", r, r.Result)
	}
	for _, tc := range []struct{ name, args, want string }{
		{"selfdestruct", "", "unknown command"},
		{"snapshot", `"camera":"nope"`, `no camera "nope"`},
		{"snapshot", `"camera":7`, "arguments"},
		{"restart-source", `"cmaera":"cam1"`, "unknown field"},
	} {
		if r := sub.command(tc.name, tc.args); r.OK || r.Error == nil || !strings.Contains(*r.Error, tc.want) {
			t.Fatalf("%s %s: %+v, want an error with %q", tc.name, tc.args, r, tc.want)
		}
	}

	// A flood: the daemon answers within its budget and stays up.
	for i := range 300 {
		sub.client.Publish(cmdBase+"ping", 0, false, fmt.Sprintf(`{"id":"f%d"}`, i))
	}
	time.Sleep(1500 * time.Millisecond)
	if r := sub.command("ping", ""); !r.OK {
		t.Fatalf("ping after a flood: %+v", r)
	}

	r := sub.command("snapshot", `"camera":"cam1"`)
	var snap struct{ Snapshot string }
	if json.Unmarshal(r.Result, &snap); !r.OK || !strings.HasPrefix(snap.Snapshot, "dev1:snapshot.cam1:") {
		t.Fatalf("snapshot: %+v %s", r, r.Result)
	}
	if err := testutil.WaitFor(10*time.Second, func() bool {
		_, err := jpeg.DecodeConfig(bytes.NewReader(sub.Payload("lineside/v1/s1/l1/dev1/snapshots/" + snap.Snapshot)))
		return err == nil
	}); err != nil {
		t.Fatalf("snapshot %s never arrived as a JPEG", snap.Snapshot)
	}
	if r := sub.command("restart-source", ""); !r.OK {
		t.Fatalf("restart-source: %+v", r)
	}
	sub.waitCameras("cam1")

	// Reload by command: a second camera.
	two := strings.Replace(base, "cameras:\n", fmt.Sprintf("cameras:\n  - {name: cam2, source: \"file://%s?loop=true\", fps: 10, model: defect}\n", video), 1)
	os.WriteFile(cfg, []byte(two), 0o644)
	r = sub.command("reload", "")
	if !r.OK || !strings.Contains(string(r.Result), `"added":["cam2"]`) || !strings.Contains(string(r.Result), `"unchanged":["cam1"]`) {
		t.Fatalf("reload: %+v %s", r, r.Result)
	}
	sub.waitCameras("cam1,cam2")
	before := len(sub.Events())

	// An invalid file is refused with every error; both cameras keep running.
	bad := strings.Replace(two, "fps: 10, model: defect}\n", "fsp: 10, model: defect}\n", 1) + "bogus: 1\n"
	os.WriteFile(cfg, []byte(bad), 0o644)
	r = sub.command("reload", "")
	if r.OK || r.Error == nil || !strings.Contains(*r.Error, "fsp") || !strings.Contains(*r.Error, "bogus") {
		t.Fatalf("invalid reload: %+v", r)
	}
	time.Sleep(time.Second)
	if n := len(sub.Events()); n <= before {
		t.Fatalf("no events after the refused reload (%d before, %d after)", before, n)
	}
	sub.waitCameras("cam1,cam2")

	// SIGHUP: back to one camera.
	os.WriteFile(cfg, []byte(base), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	sub.waitCameras("cam1")

	metrics := httpGet(t, "http://"+httpAddr+"/metrics", 200)
	for _, want := range []string{`lineside_camera_fps{camera="cam1"}`, `lineside_inference_latency_seconds{camera="cam1",quantile="0.99"}`,
		"lineside_outbox_records", `lineside_commands_total{outcome="rate_limited"}`, "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	if h := httpGet(t, "http://"+httpAddr+"/healthz", 200); !strings.Contains(h, `"healthy":true`) {
		t.Fatalf("/healthz: %s", h)
	}
	var m struct {
		Cameras map[string]struct {
			FPS       float64 `json:"fps"`
			LatencyMS struct {
				P50 float64 `json:"p50"`
				P99 float64 `json:"p99"`
			} `json:"latency_ms"`
		} `json:"cameras"`
		Process struct {
			RSS  float64 `json:"rss_bytes"`
			Disk float64 `json:"disk_free_bytes"`
		} `json:"process"`
	}
	// The metrics published after the SIGHUP no longer list cam2.
	if err := testutil.WaitFor(5*time.Second, func() bool {
		m.Cameras = nil
		json.Unmarshal(sub.Payload("lineside/v1/s1/l1/dev1/metrics"), &m)
		_, gone := m.Cameras["cam2"]
		return m.Cameras != nil && !gone
	}); err != nil {
		t.Fatalf("cam2 still in metrics after it was removed: %s", sub.Payload("lineside/v1/s1/l1/dev1/metrics"))
	}
	t.Logf("metrics: %+v", m)
	if c := m.Cameras["cam1"]; c.FPS <= 0 || c.LatencyMS.P99 <= 0 || c.LatencyMS.P99 < c.LatencyMS.P50 || m.Process.RSS <= 0 || m.Process.Disk <= 0 {
		t.Fatalf("{base}/metrics lacks figures: %s", sub.Payload("lineside/v1/s1/l1/dev1/metrics"))
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func httpGet(t *testing.T, url string, status int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, status, b)
	}
	return string(b)
}
