package uplink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
)

func TestDeliversAndDeletes(t *testing.T) {
	b := testutil.StartBroker(t)
	sub := subscribe(t, b.URL(), prefix+"/#")
	ob := openOutbox(t)
	u := New(testConfig(b.URL()), ob, testLogger(t))
	stop := runUplink(t, u)
	eventually(t, 20*time.Second, "connect", u.Connected)

	ctx := context.Background()
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 2}
	var want []outbox.Receipt
	for i := range 50 {
		rc, err := ob.Append(ctx, outbox.Record{Stream: "defect", Topic: prefix + "/events/defect", QoS: 1,
			Priority: outbox.PriorityEvent, JSON: true, Payload: fmt.Appendf(nil, `{"label":"scratch","i":%d}`, i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rc)
	}
	snap, err := ob.Append(ctx, outbox.Record{Stream: "snapshot", Topic: prefix + "/snapshots/{id}", QoS: 1,
		Priority: outbox.PrioritySnapshot, Payload: jpeg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Append(ctx, outbox.Record{Stream: "metrics", Topic: prefix + "/metrics", QoS: 0,
		Priority: outbox.PriorityMetrics, JSON: true, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "all records delivered and deleted", func() bool {
		_, unique := sub.counts()
		return unique >= 52 && ob.Depth() == 0
	})
	byID := map[string]rx{}
	for _, m := range sub.snapshot() {
		byID[m.ID] = m
	}
	for i, rc := range want {
		m := byID[rc.ID]
		wantPayload := fmt.Sprintf(`{"id":"%s","seq":%d,"label":"scratch","i":%d}`, rc.ID, rc.Seq, i)
		if m.Topic != prefix+"/events/defect" || string(m.Payload) != wantPayload {
			t.Fatalf("record %s arrived as %s %s, want payload %s", rc.ID, m.Topic, m.Payload, wantPayload)
		}
	}
	if m := byID[snap.ID]; m.Topic != prefix+"/snapshots/lpc-07:snapshot:1" || !bytes.Equal(m.Payload, jpeg) {
		t.Fatalf("snapshot arrived as %q %x", m.Topic, m.Payload)
	}
	if m := byID["lpc-07:metrics:1"]; m.Topic != prefix+"/metrics" {
		t.Fatalf("qos 0 record arrived as %+v", m)
	}
	st := u.Stats()
	if st.Acked != 52 || st.Published != 52 || !st.Connected {
		t.Fatalf("stats %+v", st)
	}
	if err := u.Publish(prefix+"/metrics", 0, false, []byte(`{"direct":true}`)); err != nil {
		t.Fatalf("direct publish: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := u.Publish(prefix+"/metrics", 0, false, nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("publish after Run: %v, want ErrNotConnected", err)
	}
}

func TestBirthWillAndCleanShutdown(t *testing.T) {
	b := testutil.StartBroker(t)
	p := testutil.NewRelay(t, b.Addr(), true)
	status := subscribe(t, b.URL(), prefix+"/status")
	states := func() []string {
		var s []string
		for _, m := range status.snapshot() {
			s = append(s, string(m.Payload))
		}
		return s
	}
	hasAt := func(i int, payload string) func() bool {
		return func() bool { s := states(); return len(s) > i && s[i] == payload }
	}
	ob := openOutbox(t)
	u := New(testConfig(p.URL()), ob, testLogger(t))
	if err := u.Publish(prefix+"/metrics", 0, false, nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("publish before Run: %v, want ErrNotConnected", err)
	}
	stop := runUplink(t, u)
	eventually(t, 20*time.Second, "birth", hasAt(0, `{"state":"online"}`))

	p.Cut() // the network fails: the broker publishes the will
	eventually(t, 20*time.Second, "will after connection cut", hasAt(1, `{"state":"offline"}`))
	eventually(t, 20*time.Second, "birth after reconnect", hasAt(2, `{"state":"online"}`))
	eventually(t, 20*time.Second, "reconnect counted", func() bool { return u.Stats().Reconnects == 1 })

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "offline on clean shutdown", hasAt(3, `{"state":"offline"}`))
	late := subscribe(t, b.URL(), prefix+"/status")
	eventually(t, 20*time.Second, "retained offline status", func() bool {
		s := late.snapshot()
		return len(s) == 1 && string(s[0].Payload) == `{"state":"offline"}`
	})
	if u.Connected() {
		t.Fatal("connected after Run returned")
	}
}

func TestBrokerDownFirst(t *testing.T) {
	b := testutil.NewBroker(t) // not started
	p := testutil.NewRelay(t, b.Addr(), false)
	ob := openOutbox(t)
	const n = 500
	appendEvents(t, ob, "defect", outbox.PriorityEvent, n)
	u := New(testConfig(p.URL()), ob, testLogger(t))
	runUplink(t, u)
	eventually(t, 20*time.Second, "a failed connect", func() bool { return u.Stats().LastError != "" })

	b.Start()
	// The subscriber must be in place before the uplink can get through,
	// or the broker would drop messages nobody subscribed to yet.
	sub := subscribe(t, b.URL(), prefix+"/#")
	p.SetOpen(true)
	eventually(t, 60*time.Second, "all records delivered and deleted", func() bool {
		_, unique := sub.counts()
		return unique == n && ob.Depth() == 0
	})
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive right behind
	if total, unique := sub.counts(); total != unique {
		t.Fatalf("%d messages for %d ids: duplicates without a connection loss", total, unique)
	}
}

func TestBrokerRestartMidDrain(t *testing.T) {
	b := testutil.StartBroker(t)
	p := testutil.NewRelay(t, b.Addr(), true)
	sub := subscribe(t, b.URL(), prefix+"/#")
	ob := openOutbox(t)
	const n = 5000
	appendEvents(t, ob, "defect", outbox.PriorityEvent, n)
	cfg := testConfig(p.URL())
	u := New(cfg, ob, testLogger(t))
	runUplink(t, u)
	eventually(t, 60*time.Second, "drain under way", func() bool { total, _ := sub.counts(); return total >= n/4 })

	// mosquitto runs without persistence, so whatever it accepted but had not
	// yet forwarded dies with it. Holding back the PUBACKs and letting the
	// subscriber settle first makes the test measure the uplink, not the
	// broker: the records in flight have been delivered but not acknowledged,
	// which is exactly the case that produces duplicates.
	p.SetOpen(false)
	p.SetFrozen(true)
	settle(sub)
	before, _ := sub.counts()
	b.Stop()
	p.Cut()
	p.SetFrozen(false)
	b.Start()
	sub2 := subscribe(t, b.URL(), prefix+"/#")
	p.SetOpen(true)

	eventually(t, 120*time.Second, "every record delivered and the store empty", func() bool {
		_, u1 := sub.counts()
		_, u2 := sub2.counts()
		return u1+u2 >= n && ob.Depth() == 0 && union(sub, sub2) == n
	})
	total1, _ := sub.counts()
	total2, _ := sub2.counts()
	dups := total1 + total2 - n
	t.Logf("delivered before the restart: %d, after: %d, duplicates: %d, stats %+v", before, total2, dups, u.Stats())
	if dups > DefaultWindow {
		t.Fatalf("%d duplicates, more than the window %d", dups, DefaultWindow)
	}
	if u.Stats().Reconnects < 1 {
		t.Fatalf("no reconnect counted: %+v", u.Stats())
	}
}

func TestHighPriorityFirst(t *testing.T) {
	b := testutil.NewBroker(t)
	p := testutil.NewRelay(t, b.Addr(), false)
	ob := openOutbox(t)
	appendEvents(t, ob, "telemetry", outbox.PriorityTelemetry, 200)
	appendEvents(t, ob, "alarm", outbox.PriorityAlarm, 20)
	u := New(testConfig(p.URL()), ob, testLogger(t))
	runUplink(t, u)
	b.Start()
	sub := subscribe(t, b.URL(), prefix+"/events/#")
	p.SetOpen(true)
	eventually(t, 60*time.Second, "all delivered", func() bool { _, unique := sub.counts(); return unique == 220 })
	got := sub.snapshot()
	for i, m := range got[:20] {
		if !strings.HasSuffix(m.Topic, "/alarm") {
			t.Fatalf("message %d is %s (%s); alarms must drain first", i, m.Topic, m.ID)
		}
	}
}

// settle waits until the collector has received nothing new for 300ms.
func settle(c *collector) {
	last, _ := c.counts()
	for quiet := time.Now(); time.Since(quiet) < 300*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		if now, _ := c.counts(); now != last {
			last, quiet = now, time.Now()
		}
	}
}

// union counts the distinct ids two collectors received together.
func union(a, b *collector) int {
	ids := map[string]bool{}
	for _, c := range []*collector{a, b} {
		c.mu.Lock()
		for id := range c.ids {
			ids[id] = true
		}
		c.mu.Unlock()
	}
	return len(ids)
}

func TestStalledBrokerTimesOut(t *testing.T) {
	b := testutil.StartBroker(t)
	p := testutil.NewRelay(t, b.Addr(), true)
	sub := subscribe(t, b.URL(), prefix+"/events/#")
	ob := openOutbox(t)
	cfg := testConfig(p.URL())
	cfg.PublishTimeout = 500 * time.Millisecond
	cfg.ConnectTimeout = time.Second
	u := New(cfg, ob, testLogger(t))
	runUplink(t, u)
	eventually(t, 20*time.Second, "connect", u.Connected)

	p.SetFrozen(true) // the broker stops answering; no PUBACK will come
	appendEvents(t, ob, "defect", outbox.PriorityEvent, 10)
	eventually(t, 20*time.Second, "publish timeout", func() bool {
		st := u.Stats()
		return st.Failed > 0 && strings.Contains(st.LastError, ErrTimeout.Error())
	})
	if ob.Depth() != 10 {
		t.Fatalf("depth %d while unacknowledged, want 10", ob.Depth())
	}
	p.SetFrozen(false)
	eventually(t, 30*time.Second, "delivery after the stall", func() bool {
		_, unique := sub.counts()
		return unique == 10 && ob.Depth() == 0
	})
}
