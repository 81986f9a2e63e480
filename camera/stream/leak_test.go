package stream_test

import (
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/internal/testutil"
)

// usage is what a reconnect could leak.
type usage struct {
	goroutines int
	mats       int
	rssBytes   int64
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	mats, _ := matCount()
	return usage{goroutines: runtime.NumGoroutine(), mats: mats, rssBytes: pages * int64(os.Getpagesize())}
}

// reconnects runs a camera on url until it has reconnected n times after a
// warm-up, and checks that goroutines, Mats and RSS did not grow with them.
func reconnects(t *testing.T, url string, n int) {
	r := start(t, "leak", url, 2*time.Second, func(c *camera.Config) {
		c.BackoffMin, c.BackoffMax = time.Millisecond, time.Millisecond
	})
	warm := uint64(20)
	if testutil.WaitFor(60*time.Second, func() bool { return r.cam.Health().Reconnects >= warm }) != nil {
		t.Fatalf("no reconnects: %+v", r.cam.Health())
	}
	before := measure(t)
	start := time.Now()
	if testutil.WaitFor(120*time.Second, func() bool { return r.cam.Health().Reconnects >= warm+uint64(n) }) != nil {
		t.Fatalf("only %d reconnects: %+v", r.cam.Health().Reconnects, r.cam.Health())
	}
	took := time.Since(start)
	after := measure(t)
	h := r.cam.Health()
	r.stop()
	t.Logf("%d reconnects in %s (%d frames): goroutines %d -> %d, mats %d -> %d, rss %.1f -> %.1f MiB",
		h.Reconnects-warm, took.Round(time.Millisecond), h.Frames, before.goroutines, after.goroutines,
		before.mats, after.mats, float64(before.rssBytes)/(1<<20), float64(after.rssBytes)/(1<<20))
	if h.Frames < uint64(n) {
		t.Errorf("%d frames over %d reconnects: the connections did not deliver", h.Frames, n)
	}
	// The server's per-connection goroutines come and go; a leak per
	// reconnect would add hundreds.
	if after.goroutines > before.goroutines+5 {
		t.Errorf("goroutines grew from %d to %d over %d reconnects", before.goroutines, after.goroutines, n)
	}
	if _, counted := matCount(); counted && after.mats > before.mats+2 {
		t.Errorf("Mats grew from %d to %d over %d reconnects", before.mats, after.mats, n)
	}
	if grew := after.rssBytes - before.rssBytes; grew > 16<<20 {
		t.Errorf("RSS grew by %.1f MiB over %d reconnects", float64(grew)/(1<<20), n)
	}
}

// TestReconnectsDoNotLeak reconnects 1,000 times to an MJPEG server that
// closes every connection after one frame, and 1,000 times through FFmpeg to
// an HTTP server whose video file ends after a few frames.
func TestReconnectsDoNotLeak(t *testing.T) {
	t.Run("mjpeg", func(t *testing.T) {
		srv := testutil.StartMJPEG(t, 160, 120, 1000)
		srv.SetFramesPerConn(1)
		reconnects(t, srv.URL()+"#open_timeout=2s", 1000)
	})
	t.Run("ffmpeg", func(t *testing.T) {
		video := testutil.WriteVideo(t, t.TempDir(), 3, 160, 120)
		addr := testutil.FreeAddr(t)
		mux := http.NewServeMux()
		mux.HandleFunc("/video.avi", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "video/x-msvideo")
			http.ServeFile(w, r, video)
		})
		srv := &http.Server{Addr: addr, Handler: mux}
		go srv.ListenAndServe()
		t.Cleanup(func() { srv.Close() })
		reconnects(t, "http://"+addr+"/video.avi#open_timeout=2s", 1000)
	})
}
