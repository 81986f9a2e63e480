package file_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	_ "github.com/lineside/lineside/camera/file"
	"github.com/lineside/lineside/internal/testutil"
)

func TestReadsEveryFrameThenEnds(t *testing.T) {
	path := testutil.WriteVideo(t, t.TempDir(), 12, 160, 120)
	src, err := camera.NewSource("file://"+path, camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := gocv.NewMat()
	defer m.Close()
	n := 0
	for {
		err := src.Read(&m)
		if errors.Is(err, camera.ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Cols() != 160 || m.Rows() != 120 || m.Channels() != 3 {
			t.Fatalf("frame %d: %dx%dx%d", n, m.Cols(), m.Rows(), m.Channels())
		}
		n++
	}
	if n != 12 {
		t.Fatalf("read %d frames, want 12", n)
	}
}

func TestLoopRewinds(t *testing.T) {
	path := testutil.WriteVideo(t, t.TempDir(), 5, 64, 48)
	src, err := camera.NewSource("file://"+path+"?loop=true", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := gocv.NewMat()
	defer m.Close()
	for i := 0; i < 17; i++ {
		if err := src.Read(&m); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.avi")
	os.WriteFile(garbage, []byte(strings.Repeat("not a video ", 1000)), 0o644)
	cases := []struct{ url, want string }{
		{"file://" + filepath.Join(dir, "missing.avi"), "no such file"},
		{"file://" + garbage, "cannot be decoded"},
	}
	for _, c := range cases {
		src, err := camera.NewSource(c.url, camera.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = src.Open()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want error containing %q", c.url, err, c.want)
		}
	}
	for _, u := range []string{"file://x.avi?loop=maybe", "file://x.avi?lop=true", "file://"} {
		if _, err := camera.NewSource(u, camera.Options{}); err == nil {
			t.Errorf("%s: want error", u)
		}
	}
	if _, err := camera.NewSource("nope://x", camera.Options{}); err == nil || !strings.Contains(err.Error(), "unknown scheme") {
		t.Errorf("unknown scheme: %v", err)
	}
}

// TestCameraPacesAndReportsFailure runs the Camera driver on a real file and
// on a missing file: the first streams at the configured rate, the second
// reports why it failed while the caller keeps running.
func TestCameraPacesAndReportsFailure(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := testutil.WriteVideo(t, t.TempDir(), 5, 64, 48)
	src, _ := camera.NewSource("file://"+path+"?loop=true", camera.Options{})
	cam := camera.New(camera.Config{Name: "c1", FPS: 20}, src, log)
	q := camera.NewQueue(4)
	defer q.Free()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range q.Frames() {
			got++
			q.Release(f)
		}
	}()
	cam.Run(ctx, q)
	<-done
	// 20 fps for 1 s: allow for scheduling on a loaded machine.
	if got < 10 || got > 22 {
		t.Fatalf("got %d frames in 1s at 20 fps", got)
	}

	bad, _ := camera.NewSource("file:///nonexistent/video.avi", camera.Options{})
	cam2 := camera.New(camera.Config{Name: "c2", FPS: 20, BackoffMin: 10 * time.Millisecond}, bad, log)
	q2 := camera.NewQueue(1)
	defer q2.Free()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	go func() {
		for range q2.Frames() {
		}
	}()
	go cam2.Run(ctx2, q2)
	time.Sleep(100 * time.Millisecond)
	st, reason := cam2.State()
	if st != camera.StateFailed || !strings.Contains(reason, "/nonexistent/video.avi") {
		t.Fatalf("state %s %q", st, reason)
	}
	if cam2.Errors() == 0 {
		t.Fatal("open failures not counted")
	}
}
