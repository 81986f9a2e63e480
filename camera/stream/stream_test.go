package stream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/camera/stream"
	"github.com/lineside/lineside/internal/testutil"
)

// running is a camera driven by the real driver, with what it delivered.
type running struct {
	cam    *camera.Camera
	mu     sync.Mutex
	states []camera.State
	sizes  map[string]int // "WxH" -> frames of that size
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs a camera on url with short timeouts so that outages show within
// a test's time.
func start(t *testing.T, name, url string, stall time.Duration, tune ...func(*camera.Config)) *running {
	t.Helper()
	r := &running{sizes: map[string]int{}, done: make(chan struct{})}
	src, err := camera.NewSource(url, camera.Options{Name: name, StallTimeout: stall})
	if err != nil {
		t.Fatal(err)
	}
	cfg := camera.Config{
		Name: name, FPS: 20, StallTimeout: stall,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		OnState: func(h camera.Health) {
			r.mu.Lock()
			r.states = append(r.states, h.State)
			r.mu.Unlock()
		},
	}
	for _, f := range tune {
		f(&cfg)
	}
	r.cam = camera.New(cfg, src, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := camera.NewQueue(2)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for f := range q.Frames() {
			r.mu.Lock()
			r.sizes[fmt.Sprintf("%dx%d", f.Mat.Cols(), f.Mat.Rows())]++
			r.mu.Unlock()
			q.Release(f)
		}
	}()
	go func() {
		cam := r.cam
		cam.Run(ctx, q)
		<-consumed
		q.Free()
		close(r.done)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
}

// waitState waits until the camera is in state s.
func (r *running) waitState(t *testing.T, s camera.State, timeout time.Duration) {
	t.Helper()
	if testutil.WaitFor(timeout, func() bool { st, _ := r.cam.State(); return st == s }) != nil {
		h := r.cam.Health()
		t.Fatalf("%s: not %s after %s: %+v (states %v)", h.Name, s, timeout, h, r.history())
	}
}

func (r *running) history() []camera.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]camera.State(nil), r.states...)
}

func (r *running) frames(size string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sizes[size]
}

// TestMJPEGOutageStallAndResize runs a camera on a real HTTP MJPEG server
// that dies, comes back, hangs, and changes resolution mid-stream.
func TestMJPEGOutageStallAndResize(t *testing.T) {
	srv := testutil.StartMJPEG(t, 160, 120, 20)
	r := start(t, "mj", srv.URL()+"#open_timeout=1s&read_timeout=2s", time.Second)
	r.waitState(t, camera.StateStreaming, 10*time.Second)

	srv.Stop() // connection closed, then refused
	r.waitState(t, camera.StateFailed, 10*time.Second)
	if _, reason := r.cam.State(); !strings.Contains(reason, "connection refused") {
		t.Errorf("reason while down: %q", reason)
	}
	srv.Start()
	r.waitState(t, camera.StateStreaming, 10*time.Second)

	srv.SetPaused(true) // connection open, no frames
	r.waitState(t, camera.StateStalled, 5*time.Second)
	r.waitState(t, camera.StateReconnecting, 5*time.Second)
	if h := r.cam.Health(); !strings.Contains(h.LastError, "no frame within read_timeout=2s") {
		t.Errorf("last error after the stall: %q", h.LastError)
	}
	srv.SetPaused(false)
	r.waitState(t, camera.StateStreaming, 10*time.Second)

	srv.SetSize(320, 240)
	if testutil.WaitFor(5*time.Second, func() bool { return r.frames("320x240") >= 5 }) != nil {
		t.Fatalf("no frames of the new size: %v", r.sizes)
	}
	h := r.cam.Health()
	if h.State != camera.StateStreaming || h.Reconnects < 2 || r.frames("160x120") == 0 {
		t.Fatalf("after resize: %+v sizes %v", h, r.sizes)
	}
	want := []camera.State{camera.StateStreaming, camera.StateReconnecting, camera.StateFailed, camera.StateStreaming,
		camera.StateStalled, camera.StateReconnecting}
	if got := r.history(); !isSubsequence(want, got) {
		t.Fatalf("state changes %v do not include %v in order", got, want)
	}
}

func isSubsequence(want, got []camera.State) bool {
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestRTSPKillAndRestart runs a camera on GStreamer's RTSP server, kills the
// server and starts it again on the same port.
func TestRTSPKillAndRestart(t *testing.T) {
	srv := testutil.StartRTSP(t, 320, 240, 15)
	r := start(t, "rtsp", srv.URL()+"#open_timeout=5s", 2*time.Second)
	r.waitState(t, camera.StateStreaming, 20*time.Second)
	before := r.cam.Frames()
	srv.Stop()
	r.waitState(t, camera.StateFailed, 15*time.Second)
	srv.Start()
	r.waitState(t, camera.StateStreaming, 30*time.Second)
	if testutil.WaitFor(5*time.Second, func() bool { return r.cam.Frames() > before+10 }) != nil {
		t.Fatalf("no frames after the restart: %+v", r.cam.Health())
	}
	if h := r.cam.Health(); h.Reconnects == 0 || r.frames("320x240") == 0 {
		t.Fatalf("%+v sizes %v", h, r.sizes)
	}
}

// TestBadStreamsDoNotStopOthers runs a good camera next to cameras on a
// closed port, a server sending garbage, and a wrong path; each bad one says
// why while the good one keeps streaming.
func TestBadStreamsDoNotStopOthers(t *testing.T) {
	good := testutil.StartMJPEG(t, 160, 120, 20)
	garbage := testutil.StartMJPEG(t, 160, 120, 20)
	garbage.SetGarbage(true)
	closed := testutil.FreePort(t)
	ok := start(t, "good", good.URL(), 2*time.Second)
	bad := []struct {
		r    *running
		want string
	}{
		{start(t, "closed", fmt.Sprintf("http://127.0.0.1:%d/stream.mjpg", closed), 2*time.Second), "connection refused"},
		{start(t, "garbage", garbage.URL()+"#open_timeout=2s", 2*time.Second), "no readable video"},
		{start(t, "rtsp-closed", fmt.Sprintf("rtsp://127.0.0.1:%d/x", closed), 2*time.Second), "connection refused"},
	}
	ok.waitState(t, camera.StateStreaming, 10*time.Second)
	for _, b := range bad {
		b.r.waitState(t, camera.StateFailed, 15*time.Second)
		if _, reason := b.r.cam.State(); !strings.Contains(reason, b.want) {
			t.Errorf("%s: reason %q, want %q", b.r.cam.Name(), reason, b.want)
		}
	}
	n := ok.cam.Frames()
	if testutil.WaitFor(5*time.Second, func() bool { return ok.cam.Frames() > n+10 }) != nil {
		t.Fatalf("good camera stopped: %+v", ok.cam.Health())
	}
}

func TestOptions(t *testing.T) {
	src, err := camera.NewSource("rtsp://user:secret@10.0.0.5/s1?channel=2#rtsp_transport=udp&open_timeout=3s", camera.Options{StallTimeout: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*stream.Source)
	if u := s.URL(); u != "rtsp://user:xxxxx@10.0.0.5/s1?channel=2" {
		t.Errorf("display url %q", u)
	}
	if o, r := s.Timeouts(); o != 3*time.Second || r != 6*time.Second {
		t.Errorf("timeouts %s %s", o, r)
	}
	for _, c := range []struct{ url, want string }{
		{"rtsp://h/s#transport=udp", `unknown option "transport" after # (known: open_timeout, read_timeout, rtsp_transport)`},
		{"http://h/s#rtsp_transport=tcp", `unknown option "rtsp_transport" after # (known: open_timeout, read_timeout)`},
		{"rtsp://h/s#rtsp_transport=sctp", `rtsp_transport="sctp" is not tcp or udp`},
		{"https://h/s#read_timeout=soon", `read_timeout="soon" is not a positive duration`},
		{"rtsp://user:secret@h/s#open_timeout=0s", `open_timeout="0s"`},
		{"http:///path", "no host"},
	} {
		_, err := camera.NewSource(c.url, camera.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error shows the password: %v", c.url, err)
		}
	}
}
