package agent

import (
	"context"
	"image"
	"image/color"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/topic"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var testLayout = topic.Layout{Site: "s", Line: "l", Device: "dev1"}

// loadTestClassifier loads the reference CNN with metadata overrides.
func loadTestClassifier(t testing.TB, overrides map[string]string) *inference.Classifier {
	t.Helper()
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, quietLog); err != nil {
		t.Fatal(err)
	}
	clf, err := inference.LoadClassifier(testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"),
		inference.ClassifierOptions{IntraThreads: 1, Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	return clf
}

// openTestOutbox opens a store in a temporary directory, closed at the end.
func openTestOutbox(t testing.TB) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "store.db"), outbox.Options{Device: "dev1"}, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

// newTestWorker builds a worker for camera cam1 whose classifier is closed
// with the worker at the end of the test.
func newTestWorker(t testing.TB, cfg visionConfig, clf *inference.Classifier, out recordAppender) *visionWorker {
	t.Helper()
	cfg.camera, cfg.model = "cam1", "defect"
	cfg.defectTopic, cfg.snapshotTopic = testLayout.DefectEvents(), testLayout.Snapshot("{id}")
	w, err := newVisionWorker(cfg, nil, clf, out, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	return w
}

// renderPart draws a 640x480 BGR belt frame with a part at x.
func renderPart(dst *gocv.Mat, x int) {
	dst.SetTo(gocv.NewScalar(90, 95, 100, 0))
	gocv.Rectangle(dst, image.Rect(x, 160, x+160, 320), color.RGBA{200, 200, 190, 0}, -1)
	gocv.Line(dst, image.Pt(x+10, 170), image.Pt(x+150, 310), color.RGBA{30, 30, 30, 0}, 2)
}

// storedRecords reads every record of stream from the store, in drain order.
func storedRecords(t testing.TB, ob *outbox.Outbox, stream string) []outbox.Message {
	t.Helper()
	var out []outbox.Message
	var after outbox.Key
	for {
		msgs, next, err := ob.Next(after, 256, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if m.Stream == stream {
				out = append(out, m)
			}
		}
		after = next
	}
}

// slowStore delays every Append, like a store on a slow disk.
type slowStore struct {
	out   recordAppender
	delay time.Duration
	mu    sync.Mutex
	calls int
}

func (s *slowStore) Append(ctx context.Context, rec outbox.Record) (outbox.Receipt, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return s.out.Append(ctx, rec)
}

// slowAsyncStore is a slow store with AppendAsync: one goroutine commits the
// queued records in call order and reports each, as the outbox's writer does.
type slowAsyncStore struct {
	slowStore
	queue chan asyncReq
}

type asyncReq struct {
	rec  outbox.Record
	done func(outbox.Receipt, error)
}

func newSlowAsyncStore(t testing.TB, out recordAppender, delay time.Duration) *slowAsyncStore {
	s := &slowAsyncStore{slowStore: slowStore{out: out, delay: delay}, queue: make(chan asyncReq, 64)}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for r := range s.queue {
			r.done(s.slowStore.Append(context.Background(), r.rec))
		}
	}()
	t.Cleanup(func() { close(s.queue); <-stopped })
	return s
}

func (s *slowAsyncStore) AppendAsync(_ context.Context, rec outbox.Record, done func(outbox.Receipt, error)) error {
	s.queue <- asyncReq{rec, done}
	return nil
}

// rssMB reads the process's resident set size from /proc.
func rssMB(t testing.TB) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// publish copies img into a frame of q and publishes it with seq.
func publish(q *camera.Queue, img gocv.Mat, seq uint64) {
	f := q.Acquire()
	img.CopyTo(&f.Mat)
	f.Camera, f.Seq, f.Time = "cam1", seq, time.Now()
	q.Publish(f)
}
