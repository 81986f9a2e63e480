package main

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// TestChaosBrokerDown cuts the agent off the broker under the load of the
// kill test (a fast synthetic camera and three simulated machines; 30s in
// make test, 10min in make chaos) while the ledger, connected directly,
// keeps watching: afterwards nothing is missing and every stream, defect,
// health and telemetry, arrived in order.
func TestChaosBrokerDown(t *testing.T) {
	outage := chaosScale(30*time.Second, 10*time.Minute)
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	p := testutil.NewRelay(t, broker.Addr(), true)
	load := chaosLoad(dir, p.URL())
	load.MQTT = "keepalive: 2s"
	cfg := load.write(t)
	w := startWatch(t, broker.URL())
	m := watchMetrics(t, broker.URL())

	d := startDaemon(t, cfg)
	d.waitLog("lineside running", 60*time.Second)
	m.waitDepthBelow(t, 2*window, 30*time.Second)
	p.SetOpen(false)
	p.Cut()
	t.Logf("broker unreachable for %s", outage)
	time.Sleep(outage)
	if !strings.Contains(d.Logs(), "broker unreachable") {
		t.Fatalf("the agent never noticed the outage:\n%s", tail(d.Logs(), 2000))
	}
	p.SetOpen(true)
	v := m.waitDepthBelow(t, 2*window, 2*time.Minute)
	if v.Outbox.RunwayHours != nil {
		t.Logf("backlog drained; runway now %.1f h", *v.Outbox.RunwayHours)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	rep, _ := w.report(time.Second)
	checkLedger(t, rep, storedIDs(t, dir), 2*window*2)
	checkDelivered(t, rep, load.streams())
	if rep.Unique < 500 {
		t.Fatalf("only %d records: no load", rep.Unique)
	}
}

// TestChaosDiskBudget offers the store far more than its budget holds (a
// snapshot of every frame of two fast cameras, broker unreachable): the file
// never exceeds store.max_bytes, defect events are kept while snapshots are
// dropped, and every drop is reported with its ids, so the ledger explains
// every gap. The budget grows with the outage (4 MiB for 10 s in make test,
// 32 MiB for 2 min in make chaos) so that the defect events alone, which
// take about 130 kB/s of store from the two cameras, fill at most half of
// it: what overflows it is the lower tier, many times the budget's worth of
// snapshots.
func TestChaosDiskBudget(t *testing.T) {
	maxBytes := chaosScale(4<<20, 32<<20)
	outage := chaosScale(10*time.Second, 2*time.Minute)
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	p := testutil.NewRelay(t, broker.Addr(), false)
	video := testutil.WriteVideo(t, dir, 30, 320, 240)
	cfg := chaosConfig{Dir: dir, Broker: p.URL(), Video: video, Cameras: 2, FPS: 100, Snapshots: true, MaxBytes: strconv.Itoa(maxBytes)}.write(t)
	w := startWatch(t, broker.URL())
	m := watchMetrics(t, broker.URL())

	var biggest atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if fi, err := os.Stat(storePath(dir)); err == nil && fi.Size() > biggest.Load() {
				biggest.Store(fi.Size())
			}
		}
	}()
	d := startDaemon(t, cfg)
	d.waitLog("lineside running", 60*time.Second)
	time.Sleep(outage)
	p.SetOpen(true)
	v := m.waitDepthBelow(t, 2*window, 2*time.Minute)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	close(stop)
	<-watched
	if b := biggest.Load(); b > int64(maxBytes) || b < int64(maxBytes)/2 {
		t.Fatalf("store file reached %d bytes, budget %d", b, maxBytes)
	}
	rep, _ := w.report(time.Second)
	checkLedger(t, rep, storedIDs(t, dir), 2*window)
	var snapDrops, reported uint64
	for name, s := range rep.Streams {
		switch {
		case strings.Contains(name, ":defect."):
			if s.Dropped != 0 || s.Unique == 0 {
				t.Errorf("%s: %d dropped, %d delivered: defect events must be kept", name, s.Dropped, s.Unique)
			}
		case strings.Contains(name, ":snapshot."):
			snapDrops += s.Dropped
		case strings.HasSuffix(name, ":drops"):
			reported += s.Unique
		}
	}
	if snapDrops == 0 || reported == 0 {
		t.Fatalf("%d snapshot drops in %d drop reports: the budget was never reached", snapDrops, reported)
	}
	counted := uint64(0)
	for stream, reasons := range v.Outbox.Drops {
		if strings.HasPrefix(stream, "snapshot.") {
			counted += reasons["budget"]
		}
	}
	t.Logf("file peaked at %d of %d bytes; %d snapshot drops reported, %d counted in metrics", biggest.Load(), maxBytes, snapDrops, counted)
	// Drops made in the last second before the stop are in a report the
	// agent stored on its way out, for the next run to publish.
	if counted < snapDrops {
		t.Fatalf("metrics count %d snapshot drops, the reports list %d", counted, snapDrops)
	}
}
