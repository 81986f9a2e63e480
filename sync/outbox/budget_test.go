package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// budgetStreams feed TestBudget: one stream per tier, snapshots large.
var budgetStreams = []struct {
	stream string
	tier   Priority
	size   int
}{
	{"alarm.a", PriorityAlarm, 200},
	{"defect.cam1", PriorityEvent, 300},
	{"snap.cam1", PrioritySnapshot, 6000},
	{"telemetry.m1", PriorityTelemetry, 400},
	{"metrics", PriorityMetrics, 500},
}

// TestBudget offers twice what the budget holds, with nothing delivered:
// the file never exceeds the budget, lower tiers go first, every drop is
// counted and reported with its seqs (also across a restart).
func TestBudget(t *testing.T) {
	const maxBytes = 2 << 20
	path := filepath.Join(t.TempDir(), "ob.db")
	opts := Options{MaxBytes: maxBytes, DropTopic: "b/events/drops", DropReportInterval: time.Hour}
	o := openT(t, path, opts)
	stop, watched := watchSize(t, path, maxBytes)
	var mu sync.Mutex
	last := map[string]uint64{}
	refused := map[string]uint64{}
	sem := make(chan struct{}, 16)
	offered := 0
	for i := 0; offered < 2*maxBytes; i++ {
		s := budgetStreams[i%len(budgetStreams)]
		if s.tier == PriorityAlarm && i%20 != 0 {
			continue // alarms are rare
		}
		payload := bytes.Repeat([]byte{'a' + byte(i%26)}, s.size)
		offered += s.size
		sem <- struct{}{}
		err := o.AppendAsync(context.Background(), Record{Stream: s.stream, Topic: "b/" + s.stream, QoS: 1, Priority: s.tier, Payload: payload}, func(rc Receipt, err error) {
			defer func() { <-sem }()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrFull) && s.tier > PriorityEvent:
				refused[s.stream]++ // the lowest tier left: refused, not stored
			case err != nil:
				t.Errorf("append to %s: %v", s.stream, err)
			default:
				last[s.stream] = max(last[s.stream], rc.Seq)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
	close(stop)
	if n := <-watched; n < 10 {
		t.Fatalf("file size looked at only %d times", n)
	}
	st := o.Stats()
	t.Logf("offered %d, file %d, used %d, depth %d, drops %v", offered, st.Bytes, st.UsedBytes, st.Depth, st.Drops)
	if st.Drops["metrics"][DropBudget] == 0 || len(st.Drops["alarm.a"]) != 0 || len(st.Drops["defect.cam1"]) != 0 {
		t.Fatalf("drops %v: want metrics dropped first and alarms and events kept", st.Drops)
	}
	for stream, n := range refused {
		if st.Drops[stream][DropFull] != n {
			t.Fatalf("%s: %d appends refused, %d counted", stream, n, st.Drops[stream][DropFull])
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	// The reports not yet written survived the restart.
	opts.DropReportInterval = time.Millisecond
	o = openT(t, path, opts)
	defer o.Close()
	deadline := time.Now().Add(10 * time.Second)
	for _, pending := o.drops.due(time.Millisecond, true); pending; _, pending = o.drops.due(time.Millisecond, true) {
		if time.Now().After(deadline) {
			t.Fatal("pending drops never reported")
		}
		time.Sleep(5 * time.Millisecond)
	}
	accountFor(t, all(t, o), last)
}

// watchSize checks the file size every millisecond until stop closes, and
// then sends how often it looked.
func watchSize(t *testing.T, path string, maxBytes int64) (chan struct{}, chan int) {
	stop, looked := make(chan struct{}), make(chan int, 1)
	go func() {
		n := 0
		defer func() { looked <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			n++
			if fi, err := os.Stat(path); err == nil && fi.Size() > maxBytes {
				t.Errorf("the file has %d bytes, budget %d", fi.Size(), maxBytes)
				return
			}
		}
	}()
	return stop, looked
}

// accountFor checks that every seq of every stream is either stored or
// listed in a drop report.
func accountFor(t *testing.T, msgs []Message, last map[string]uint64) {
	t.Helper()
	seen := map[string]map[uint64]bool{}
	mark := func(stream string, seq uint64) {
		if seen[stream] == nil {
			seen[stream] = map[uint64]bool{}
		}
		if seen[stream][seq] {
			t.Fatalf("%s:%d both stored and reported dropped, or reported twice", stream, seq)
		}
		seen[stream][seq] = true
	}
	reports := 0
	for _, m := range msgs {
		if m.Stream != "drops" {
			mark(m.Stream, m.Seq)
			continue
		}
		reports++
		if m.Key.Priority() != PriorityAlarm || m.Topic != "b/events/drops" {
			t.Fatalf("drop report at %s on %s", m.Key, m.Topic)
		}
		var r struct{ Drops []DropEntry }
		if err := json.Unmarshal(m.Payload, &r); err != nil {
			t.Fatalf("drop report %s: %v", m.Payload, err)
		}
		for _, d := range r.Drops {
			n := uint64(0)
			for _, rg := range d.Ranges {
				for s := rg[0]; s <= rg[1]; s++ {
					mark(d.Stream, s)
					n++
				}
			}
			if d.Reason == DropFull && n == 0 {
				continue
			}
			if n != d.Count || d.Reason != DropBudget {
				t.Fatalf("drop entry %+v: ranges hold %d seqs", d, n)
			}
		}
	}
	if reports < 2 {
		t.Fatalf("%d drop reports, want the first one and one after the restart", reports)
	}
	for stream, n := range last {
		for s := uint64(1); s <= n; s++ {
			if !seen[stream][s] {
				t.Fatalf("%s:%d neither stored nor reported dropped", stream, s)
			}
		}
	}
}

func TestRunway(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{MaxBytes: 4 << 20})
	defer o.Close()
	if _, ok := o.Runway(); ok {
		t.Fatal("runway known before any append")
	}
	ctx := context.Background()
	var first time.Duration
	for i := range 400 {
		if _, err := o.Append(ctx, rec("telemetry.m1", PriorityTelemetry, string(bytes.Repeat([]byte("x"), 2000)))); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			first, _ = o.Runway()
		}
	}
	d, ok := o.Runway()
	if !ok || d <= 0 || d >= first {
		t.Fatalf("runway %v (known %t), after 10 appends %v: want positive and shrinking", d, ok, first)
	}
	if st := o.Stats(); !st.RunwayKnown || st.AppendRate <= 0 {
		t.Fatalf("stats %+v", st)
	}
	unlimited := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer unlimited.Close()
	if _, err := unlimited.Append(ctx, rec("x", PriorityEvent, "x")); err != nil {
		t.Fatal(err)
	}
	if _, ok := unlimited.Runway(); ok {
		t.Fatal("runway known without a budget")
	}
}
