//go:build bench

package agent

import (
	"io"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/benchfmt"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/topic"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn n times and returns wall and CPU time per call.
func measure(n int, fn func()) (wall, cpu time.Duration) {
	c0, w0 := cpuTime(), time.Now()
	for i := 0; i < n; i++ {
		fn()
	}
	return time.Since(w0) / time.Duration(n), (cpuTime() - c0) / time.Duration(n)
}

// TestBenchSpine prints the per-frame cost of the spine — decode a 640x480
// MJPEG frame, classify it, encode the record and append it durably to the
// outbox — against a bare ONNX Runtime Run of the same model, and against
// bare decode + bare Run, all measured in this run.
func TestBenchSpine(t *testing.T) {
	lib := testutil.ORTLibrary(t)
	if err := inference.Init(inference.RuntimeConfig{Library: lib}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	model := testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx")
	dir := t.TempDir()
	video := testutil.WriteVideo(t, dir, 60, 640, 480)
	const n = 600

	// Bare ONNX Runtime: one session, tensors bound once, Run in a loop.
	in, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 64, 64))
	outT, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 4))
	opts, _ := ort.NewSessionOptions()
	opts.SetIntraOpNumThreads(1)
	opts.SetInterOpNumThreads(1)
	sess, err := ort.NewAdvancedSession(model, []string{"image"}, []string{"scores"}, []ort.Value{in}, []ort.Value{outT}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	sess.Run()
	bareWall, bareCPU := measure(n, func() { sess.Run() })

	// Bare decode of the same video.
	open := func() camera.Source {
		src, err := camera.NewSource("file://"+video+"?loop=true", camera.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Open(); err != nil {
			t.Fatal(err)
		}
		return src
	}
	src := open()
	m := gocv.NewMat()
	defer m.Close()
	decWall, decCPU := measure(n, func() { src.Read(&m) })
	src.Close()

	// The spine: the agent's own worker on the agent's own queue and outbox.
	clf, err := inference.LoadClassifier(model, inference.ClassifierOptions{IntraThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(filepath.Join(dir, "store.db"), outbox.Options{Device: "bench"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	layout := topic.Layout{Site: "s", Line: "l", Device: "bench"}
	w, err := newVisionWorker(visionConfig{camera: "cam1", model: "defect", defectTopic: layout.DefectEvents(),
		snapshotTopic: layout.Snapshot("{id}")}, nil, clf, ob, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.app.async = nil // wait for each commit: the serial cost
	q := w.queue
	src = open()
	defer src.Close()
	// One frame at a time, storing it in this goroutine: the serial cost of
	// the spine (the running pipeline overlaps the stages; see
	// TestBenchCameraPipeline).
	frame := func() {
		f := q.Acquire()
		if err := src.Read(&f.Mat); err != nil {
			t.Fatal(err)
		}
		f.Time = time.Now()
		if err := w.process(f); err != nil {
			t.Fatal(err)
		}
		q.Discard(f)
		w.app.store(<-w.app.jobs)
		if w.app.failed.Load() != 0 {
			t.Fatal("append failed")
		}
	}
	frame()
	spineWall, spineCPU := measure(n, frame)

	t.Logf("bare run wall %v cpu %v; decode wall %v cpu %v; spine wall %v cpu %v", bareWall, bareCPU, decWall, decCPU, spineWall, spineCPU)
	benchfmt.Print(nil, "spine.frame_cpu_ns_vs_bare_run", float64(spineCPU), "ns", float64(bareCPU), benchfmt.Lower)
	benchfmt.Print(nil, "spine.frame_cpu_ns_vs_decode_plus_run", float64(spineCPU), "ns", float64(bareCPU+decCPU), benchfmt.Lower)
	benchfmt.Print(nil, "spine.frame_wall_ns_vs_decode_plus_run", float64(spineWall), "ns", float64(bareWall+decWall), benchfmt.Lower)
}
