package agent

import (
	"encoding/json"
	"runtime"
	"strconv"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/sync/outbox"
)

// TestWorkerDropsOldestWhenInferenceIsSlower captures unpaced (a frame copy
// costs far less than an inference) into a queue of 2 for two seconds: the
// worker must see frames in capture order, the queue must drop and count
// the rest, every frame must be accounted for, and memory must not grow.
func TestWorkerDropsOldestWhenInferenceIsSlower(t *testing.T) {
	ob := openTestOutbox(t)
	w := newTestWorker(t, visionConfig{queue: 2}, loadTestClassifier(t, nil), ob)
	img := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer img.Close()
	renderPart(&img, 200)

	done := make(chan error, 1)
	go func() { done <- w.run() }()
	var seq uint64
	capture := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			seq++
			publish(w.queue, img, seq)
			if w.queue.Len() > 2 {
				t.Errorf("queue holds %d frames, capacity 2", w.queue.Len())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	capture(500 * time.Millisecond) // warm up: buffers, store pages
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssMB(t)
	capture(2 * time.Second)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := rssMB(t)
	w.queue.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	inferred, dropped := w.inferred.Load(), w.queue.Dropped()
	t.Logf("captured %d, inferred %d, dropped %d; heap %d -> %d KiB; rss %.1f -> %.1f MB",
		seq, inferred, dropped, before.HeapAlloc>>10, after.HeapAlloc>>10, rssBefore, rssAfter)
	if dropped == 0 || inferred == 0 {
		t.Fatalf("inferred %d, dropped %d: capture was not faster than inference", inferred, dropped)
	}
	if inferred+dropped+w.failed.Load() != seq {
		t.Fatalf("inferred %d + dropped %d + failed %d != captured %d", inferred, dropped, w.failed.Load(), seq)
	}
	if int64(after.HeapAlloc)-int64(before.HeapAlloc) > 4<<20 {
		t.Fatalf("Go heap grew from %d to %d bytes", before.HeapAlloc, after.HeapAlloc)
	}
	if rssAfter-rssBefore > 32 {
		t.Fatalf("RSS grew from %.1f to %.1f MB", rssBefore, rssAfter)
	}
	// Stored events follow capture order: the newest frames won, in order.
	recs := storedRecords(t, ob, "defect.cam1")
	if uint64(len(recs)) != inferred {
		t.Fatalf("%d events stored, %d inferred", len(recs), inferred)
	}
	var last time.Time
	for i, m := range recs {
		var ev struct {
			Seq uint64    `json:"seq"`
			TS  time.Time `json:"ts"`
		}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Seq != uint64(i+1) || ev.TS.Before(last) {
			t.Fatalf("event %d: seq %d ts %v after ts %v: not in capture order", i, ev.Seq, ev.TS, last)
		}
		last = ev.TS
	}
}

// TestGracefulStopWithAppenderFullLosesNothing stops the camera while the
// store is slow and every appender job is taken, with a store that commits
// each Append in turn and with one that queues (AppendAsync): run must store
// every inferred frame, and its snapshot, in capture order before it returns.
func TestGracefulStopWithAppenderFullLosesNothing(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync store", true: "async store"}[async], func(t *testing.T) {
			ob := openTestOutbox(t)
			var store recordAppender = &slowStore{out: ob, delay: 20 * time.Millisecond}
			if async {
				store = newSlowAsyncStore(t, ob, 20*time.Millisecond)
			}
			gracefulStop(t, ob, store)
		})
	}
}

func gracefulStop(t *testing.T, ob *outbox.Outbox, store recordAppender) {
	// A snapshot on every other frame: snapshot frames wait for their
	// snapshot's commit, the others go straight through.
	cfg := visionConfig{queue: 2, slots: 4, snapshots: SnapshotConfig{Mode: SnapshotEveryN, EveryN: 2, Quality: 80, MaxWidth: 320}}
	w := newTestWorker(t, cfg, loadTestClassifier(t, nil), store)
	img := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer img.Close()

	done := make(chan error, 1)
	go func() { done <- w.run() }()
	for i := 1; i <= 40; i++ {
		renderPart(&img, 10*i)
		publish(w.queue, img, uint64(i))
		time.Sleep(2 * time.Millisecond) // inference keeps up; the store does not
	}
	if w.app.waits.Load() == 0 {
		t.Fatal("the worker never waited for the appender: the test did not fill it")
	}
	w.queue.Close() // the camera stops
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	inferred := w.inferred.Load()
	events := storedRecords(t, ob, "defect.cam1")
	snaps := storedRecords(t, ob, "snapshot.cam1")
	t.Logf("inferred %d, dropped %d, appender waits %d, events %d, snapshots %d",
		inferred, w.queue.Dropped(), w.app.waits.Load(), len(events), len(snaps))
	if inferred+w.queue.Dropped() != 40 {
		t.Fatalf("inferred %d + dropped %d != 40 captured", inferred, w.queue.Dropped())
	}
	if uint64(len(events)) != inferred || uint64(len(snaps)) != inferred/2 || w.app.failed.Load() != 0 {
		t.Fatalf("stored %d events and %d snapshots (%d failed) for %d inferred frames", len(events), len(snaps), w.app.failed.Load(), inferred)
	}
	if ob.LastSeq("defect.cam1") != inferred {
		t.Fatalf("last seq %d, want %d", ob.LastSeq("defect.cam1"), inferred)
	}
	var last time.Time
	for i, m := range events {
		var ev struct {
			Seq      uint64    `json:"seq"`
			TS       time.Time `json:"ts"`
			Snapshot *string   `json:"snapshot"`
		}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, m.Payload)
		}
		if ev.Seq != uint64(i+1) || ev.TS.Before(last) {
			t.Fatalf("event %d: seq %d ts %v after %v: not in capture order", i, ev.Seq, ev.TS, last)
		}
		last = ev.TS
		want := ""
		if i%2 == 1 {
			want = "dev1:snapshot.cam1:" + strconv.Itoa((i+1)/2)
		}
		if got := deref(ev.Snapshot); got != want {
			t.Fatalf("event %d: snapshot %q, want %q", i, got, want)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
