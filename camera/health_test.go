package camera_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/internal/testutil"
)

// scripted is a source whose opens and reads the test controls: it stands in
// for a device, so the driver's state machine can be driven step by step.
type scripted struct {
	mu       sync.Mutex
	openErr  error
	readErr  error
	block    chan struct{} // while non-nil, Read waits for it to close
	reads    int
	closedAt int
}

func (s *scripted) Open() error { s.mu.Lock(); defer s.mu.Unlock(); return s.openErr }
func (s *scripted) Close() error {
	s.mu.Lock()
	s.closedAt = s.reads
	s.mu.Unlock()
	return nil
}

func (s *scripted) Read(dst *gocv.Mat) error {
	s.mu.Lock()
	block, err := s.block, s.readErr
	s.reads++
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	if err != nil {
		return err
	}
	time.Sleep(5 * time.Millisecond)
	m := gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)
	m.CopyTo(dst)
	m.Close()
	return nil
}

func (s *scripted) set(f func(*scripted)) { s.mu.Lock(); f(s); s.mu.Unlock() }

func runScripted(t *testing.T, src *scripted, cfg camera.Config) (*camera.Camera, *[]camera.State, func()) {
	t.Helper()
	var mu sync.Mutex
	states := &[]camera.State{}
	cfg.OnState = func(h camera.Health) { mu.Lock(); *states = append(*states, h.State); mu.Unlock() }
	cam := camera.New(cfg, src, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := camera.NewQueue(2)
	go func() {
		for f := range q.Frames() {
			q.Release(f)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cam.Run(ctx, q); close(done) }()
	return cam, states, func() { cancel(); <-done; q.Free() }
}

func waitState(t *testing.T, cam *camera.Camera, want camera.State) {
	t.Helper()
	if testutil.WaitFor(5*time.Second, func() bool { s, _ := cam.State(); return s == want }) != nil {
		t.Fatalf("not %s: %+v", want, cam.Health())
	}
}

func TestStateMachine(t *testing.T) {
	src := &scripted{openErr: errors.New("device busy")}
	cam, states, stop := runScripted(t, src, camera.Config{Name: "s", FPS: 100, StallTimeout: 200 * time.Millisecond,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 10 * time.Millisecond})
	defer stop()
	waitState(t, cam, camera.StateFailed) // never worked: failed at once
	if _, reason := cam.State(); reason != "device busy" {
		t.Fatalf("reason %q", reason)
	}
	src.set(func(s *scripted) { s.openErr = nil })
	waitState(t, cam, camera.StateStreaming)

	block := make(chan struct{})
	src.set(func(s *scripted) { s.block = block })
	waitState(t, cam, camera.StateStalled) // reads hang: the watchdog notices
	src.set(func(s *scripted) { s.block, s.readErr, s.openErr = nil, errors.New("gone"), errors.New("refused") })
	close(block)
	waitState(t, cam, camera.StateFailed) // after FailAfter attempts without a frame
	src.set(func(s *scripted) { s.readErr, s.openErr = nil, nil })
	waitState(t, cam, camera.StateStreaming)

	h := cam.Health()
	if h.Reconnects < 3 || h.Errors < 4 || h.LastError != "refused" || h.Frames == 0 || h.LastFrame.IsZero() {
		t.Fatalf("health %+v", h)
	}
	want := []camera.State{camera.StateFailed, camera.StateStreaming, camera.StateStalled,
		camera.StateReconnecting, camera.StateFailed, camera.StateStreaming}
	stop()
	got := *states
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	if i != len(want) || got[len(got)-1] != camera.StateStopped {
		t.Fatalf("states %v, want %v then stopped", got, want)
	}
}

// TestStopWithReadBlocked checks that a read that never returns does not
// hold up the stop beyond StopGrace, and that its late return is harmless.
func TestStopWithReadBlocked(t *testing.T) {
	src := &scripted{}
	cam, _, stop := runScripted(t, src, camera.Config{Name: "b", FPS: 100, StopGrace: 100 * time.Millisecond})
	waitState(t, cam, camera.StateStreaming)
	block := make(chan struct{})
	src.set(func(s *scripted) { s.block = block })
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	stop()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("stop took %s with a blocked read", took)
	}
	close(block) // the read returns after the queue was closed and freed
	if testutil.WaitFor(2*time.Second, func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.closedAt == src.reads
	}) != nil {
		t.Fatal("source not closed after the late read returned")
	}
	if s, _ := cam.State(); s != camera.StateStopped {
		t.Fatalf("state %s", s)
	}
}
