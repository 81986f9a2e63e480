package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
)

// storeDepth opens the daemon's store after it exited and counts the records
// still waiting for the broker.
func storeDepth(t *testing.T, dir string) int {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(dir, "store", "lineside.db"), outbox.Options{Device: "dev1", LockTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	return ob.Depth()
}

// checkSeqs asserts ids of the form dev1:defect.cam1:SEQ and strictly
// consecutive seqs with no duplicate.
func checkSeqs(t *testing.T, evs []defectEvent, first uint64) {
	t.Helper()
	for i, ev := range evs {
		want := first + uint64(i)
		if ev.Seq != want {
			t.Fatalf("event %d: seq %d, want %d", i, ev.Seq, want)
		}
		if id := fmt.Sprintf("dev1:defect.cam1:%d", ev.Seq); ev.ID != id {
			t.Fatalf("event %d: id %q, want %q", i, ev.ID, id)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 20, 320, 240)
	cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: true, FPS: 30}.write(t)
	sub := subscribe(t, broker.URL(), "lineside/v1/#")
	d := startDaemon(t, cfg)

	evs := sub.waitEvents(40, 60*time.Second)
	ev := evs[0]
	if ev.Camera != "cam1" || ev.Model != "defect" || ev.ModelVersion == "" || ev.LatencyMS == nil {
		t.Fatalf("event fields: %+v", ev)
	}
	labels := map[string]bool{"ok": true, "scratch": true, "spot": true, "crack": true}
	if !labels[ev.Label] || len(ev.Scores) != 4 || ev.Scores[ev.Label] != ev.Score {
		t.Fatalf("label/scores: %+v", ev)
	}
	if time.Since(ev.TS) > time.Minute || ev.TS.After(time.Now().Add(time.Second)) {
		t.Fatalf("ts %v is not the capture time", ev.TS)
	}
	status := string(sub.Payload("lineside/v1/s1/l1/dev1/status"))
	if !strings.Contains(status, `"state":"online"`) || !strings.Contains(status, `"defect"`) {
		t.Fatalf("status %q", status)
	}

	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	evs = sub.settle(500 * time.Millisecond)
	checkSeqs(t, evs, 1)
	if n := storeDepth(t, dir); n != 0 {
		t.Fatalf("%d records left in the store after a clean stop with the broker up", n)
	}
	if status := string(sub.Payload("lineside/v1/s1/l1/dev1/status")); !strings.Contains(status, `"offline"`) {
		t.Fatalf("status after stop %q", status)
	}
}

func TestBrokerDownFirst(t *testing.T) {
	dir := t.TempDir()
	// The cloud-side subscriber has a persistent session, as a real one
	// would, so it gets every event whether it or the agent reconnects first.
	broker := testutil.NewBroker(t)
	broker.Persist = true
	broker.Start()
	sub := subscribeAs(t, broker.URL(), "lineside/v1/+/+/+/events/defect", "cloud-ledger", false)
	waitSubscribed(t, broker, sub)
	broker.Shutdown()

	const n = 25
	video := testutil.WriteVideo(t, dir, n, 160, 120)
	cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: false, FPS: 50}.write(t)
	d := startDaemon(t, cfg)
	d.waitLog("state=ended", 60*time.Second) // every frame was read while offline
	d.waitLog("broker unreachable", 30*time.Second)
	broker.Start()
	evs := sub.waitEvents(n, 60*time.Second)
	evs = sub.settle(time.Second)
	if len(evs) != n {
		t.Fatalf("got %d events, want exactly %d (none twice)", len(evs), n)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.ID] {
			t.Fatalf("id %s delivered twice", ev.ID)
		}
		seen[ev.ID] = true
	}
	checkSeqs(t, evs, 1)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// waitSubscribed waits until the broker acknowledged the subscriber's
// subscription.
func waitSubscribed(t *testing.T, _ *testutil.Broker, sub *subscriber) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !sub.subscribed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("subscriber never subscribed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRestartContinuesSeqs(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 10, 160, 120)
	cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: true, FPS: 40}.write(t)
	sub := subscribe(t, broker.URL(), "lineside/v1/+/+/+/events/defect")

	d := startDaemon(t, cfg)
	sub.waitEvents(10, 60*time.Second)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	first := sub.settle(500 * time.Millisecond)

	d = startDaemon(t, cfg)
	sub.waitEvents(len(first)+10, 60*time.Second)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	all := sub.settle(500 * time.Millisecond)
	checkSeqs(t, all, 1) // the second run continues where the first stopped
}
