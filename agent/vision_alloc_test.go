package agent

import (
	"runtime"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	_ "github.com/lineside/lineside/camera/file"
	"github.com/lineside/lineside/internal/testutil"
)

// framePathAllocs runs n frames of a 640x480 MJPEG file through the whole
// per-frame path — decode, gate (motion), classify, snapshot encode, event
// encode, durable append in the appender — and returns the Go heap
// allocations and the store's group commits per frame, every goroutine
// included (the outbox's writer too).
func framePathAllocs(t testing.TB, snapshots SnapshotConfig, n int) (allocs, commits float64) {
	t.Helper()
	ob := openTestOutbox(t)
	gate := camera.GateConfig{Motion: camera.MotionConfig{Enabled: true, Threshold: 1, MinArea: 0}}
	w := newTestWorker(t, visionConfig{snapshots: snapshots, gate: gate}, loadTestClassifier(t, nil), ob)
	go w.app.run()
	video := testutil.WriteVideo(t, t.TempDir(), 30, 640, 480)
	src, err := camera.NewSource("file://"+video+"?loop=true", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var seq uint64
	frame := func() {
		f := w.queue.Acquire()
		if err := src.Read(&f.Mat); err != nil {
			t.Fatal(err)
		}
		seq++
		f.Seq, f.Time = seq, time.Now()
		if err := w.process(f); err != nil {
			t.Fatal(err)
		}
		w.queue.Discard(f)
	}
	drain := func() {
		for w.app.appended.Load()+w.app.failed.Load() < w.inferred.Load() {
			time.Sleep(100 * time.Microsecond)
		}
	}
	for i := 0; i < 30; i++ { // warm up: OpenCV buffers, store pages, pools
		frame()
	}
	drain()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	commitsBefore := ob.Stats().Commits
	inferredBefore := w.inferred.Load()
	for i := 0; i < n; i++ {
		frame()
	}
	drain()
	runtime.ReadMemStats(&after)
	commitsAfter := ob.Stats().Commits
	w.app.stop()
	if got := w.inferred.Load() - inferredBefore; got != uint64(n) || w.app.failed.Load() != 0 {
		t.Fatalf("inferred %d of %d frames, %d failed: the gate or the store kept frames back", got, n, w.app.failed.Load())
	}
	return float64(after.Mallocs-before.Mallocs) / float64(n), float64(commitsAfter-commitsBefore) / float64(n)
}

// Allocation budgets of TestFramePathAllocations: what one bbolt group
// commit allocates inside the outbox (about 80 measured for a group of
// events; 130-140 for a group of a snapshot, whose JPEG spans overflow
// pages, and the previous frame's event, which waits in the open group for
// the next snapshot: transaction, cursor, node and freelist bookkeeping,
// receipt ids, seq map), and what the rest of a frame may allocate (gocv's
// JPEG encode call: about 4).
const (
	allocsPerCommit = 150
	allocsPerFrame  = 10
)

// TestFramePathAllocations bounds the Go heap allocations per frame of the
// whole path. The worker side (gate, Classify, event encoding, hand-over)
// allocates nothing (TestWorkerSideAllocatesNothing); what remains is the
// outbox's per-commit bookkeeping, which a store that groups several frames
// into one commit spreads thinner, and gocv's JPEG encode call (C string,
// parameter slice, output vector header). Nothing grows with the frame count.
func TestFramePathAllocations(t *testing.T) {
	tests := []struct {
		name  string
		snaps SnapshotConfig
	}{
		{"event only", SnapshotConfig{Mode: SnapshotNever}},
		{"event and snapshot", SnapshotConfig{Mode: SnapshotEveryN, EveryN: 1, Quality: 85, MaxWidth: 640}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs, commits := framePathAllocs(t, tt.snaps, 200)
			limit := allocsPerCommit*commits + allocsPerFrame
			t.Logf("%.1f allocations and %.2f group commits per frame (limit %.0f)", allocs, commits, limit)
			if allocs > limit {
				t.Fatalf("%.1f allocations per frame with %.2f commits per frame, limit %.0f", allocs, commits, limit)
			}
		})
	}
}

// TestWorkerSideAllocatesNothing checks the part of the path the worker
// owns, without the store: gate with motion, Classify, hand-over.
func TestWorkerSideAllocatesNothing(t *testing.T) {
	w := newTestWorker(t, visionConfig{gate: camera.GateConfig{Motion: camera.MotionConfig{Enabled: true, Threshold: 1, MinArea: 0}}},
		loadTestClassifier(t, nil), nil)
	a, b := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3), gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer a.Close()
	defer b.Close()
	renderPart(&a, 100)
	renderPart(&b, 300)
	f := &camera.Frame{Mat: a}
	step := func() {
		f.Seq++
		if f.Seq%2 == 0 {
			f.Mat = b
		} else {
			f.Mat = a
		}
		if err := w.process(f); err != nil {
			t.Fatal(err)
		}
		w.app.release(<-w.app.jobs) // stands in for the appender
	}
	step()
	if allocs := testing.AllocsPerRun(100, step); allocs != 0 {
		t.Fatalf("gate + classify + hand-over allocate %v times per frame, want 0", allocs)
	}
}
