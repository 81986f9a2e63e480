package gst_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	_ "github.com/lineside/lineside/camera/gst"
	"github.com/lineside/lineside/camera/internal/capture"
	"github.com/lineside/lineside/internal/testutil"
)

// TestRealPipeline runs videotestsrc through OpenCV's GStreamer backend,
// which Debian's OpenCV has; a build without it fails here on purpose.
func TestRealPipeline(t *testing.T) {
	if !capture.HasBackend(capture.GStreamer) {
		t.Fatal("OpenCV has no GStreamer backend; lineside's gst:// source needs Debian's OpenCV")
	}
	src, err := camera.NewSource("gst://videotestsrc is-live=true num-buffers=1000 ! video/x-raw,width=160,height=120,framerate=30/1 ! videoconvert ! appsink", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := gocv.NewMat()
	defer m.Close()
	for i := 0; i < 5; i++ {
		if err := src.Read(&m); err != nil {
			t.Fatal(err)
		}
		if m.Cols() != 160 || m.Rows() != 120 || m.Channels() != 3 {
			t.Fatalf("frame %d: %dx%dx%d", i, m.Cols(), m.Rows(), m.Channels())
		}
	}
}

// TestPipelineEndsAndRestarts checks that a pipeline reaching its end is
// restarted by the camera like a lost stream.
func TestPipelineEndsAndRestarts(t *testing.T) {
	src, err := camera.NewSource("gst://videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! videoconvert ! appsink", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cam := camera.New(camera.Config{Name: "g", FPS: 30, BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond},
		src, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := camera.NewQueue(2)
	defer q.Free()
	go func() {
		for f := range q.Frames() {
			q.Release(f)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cam.Run(ctx, q); close(done) }()
	err = testutil.WaitFor(20*time.Second, func() bool { h := cam.Health(); return h.Reconnects >= 2 && h.Frames >= 9 })
	cancel()
	<-done
	if h := cam.Health(); err != nil || !strings.Contains(h.LastError, "pipeline ended") {
		t.Fatalf("pipeline not restarted: %+v", h)
	}
}

func TestBadPipelines(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"gst://", "empty pipeline"},
		{"gst://videotestsrc ! videoconvert", `must end in appsink, not "videoconvert"`},
	} {
		if _, err := camera.NewSource(c.url, camera.Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.url, err, c.want)
		}
	}
	src, err := camera.NewSource("gst://nosuchelement ! appsink", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Errorf("unknown element: %v", err)
	}
}
