package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func rec(id string, seq uint64, ts time.Time) (string, []byte) {
	return "lineside/v1/s/l/dev1/events/defect", fmt.Appendf(nil, `{"id":%q,"seq":%d,"ts":%q,"label":"ok"}`, id, seq, ts.Format(time.RFC3339Nano))
}

func TestLedger(t *testing.T) {
	l := New(true)
	now := time.Now()
	for _, s := range []uint64{1, 2, 3, 5, 4, 4, 9, 10, 12} { // 6-8 dropped, 11 missing, 4 twice and late
		topic, p := rec(fmt.Sprintf("dev1:defect.cam1:%d", s), s, now.Add(-50*time.Millisecond))
		if err := l.Observe(topic, p, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Observe("lineside/v1/s/l/dev1/events/drops", []byte(`{"id":"dev1:drops:1","seq":1,"ts":"2026-01-01T00:00:00Z","drops":[{"stream":"defect.cam1","reason":"budget","count":3,"ranges":[[6,8]]}]}`), now); err != nil {
		t.Fatal(err)
	}
	_ = l.Observe("lineside/v1/s/l/dev1/snapshots/dev1:snap.cam1:2", []byte{0xff, 0xd8}, now)
	_ = l.Observe("lineside/v1/s/l/dev1/metrics", []byte(`{"outbox":{}}`), now)
	_ = l.Observe("lineside/v1/s/l/dev1/status", []byte(`{"state":"online"}`), now)
	if err := l.Observe("x/events/defect", []byte(`{"id":"dev1:defect.cam1:7","seq":8}`), now); !errors.Is(err, ErrMalformed) {
		t.Fatalf("id/seq mismatch: %v", err)
	}
	rep := l.Report()
	d := rep.Streams["dev1:defect.cam1"]
	want := StreamReport{First: 1, Last: 12, Received: 9, Unique: 8, Duplicates: 1, OutOfOrder: 1, Dropped: 3, Missing: 1, MissingIDs: [][2]uint64{{11, 11}}}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Fatalf("stream report %+v, want %+v", d, want)
	}
	if s := rep.Streams["dev1:snap.cam1"]; s.Missing != 1 || s.Unique != 1 { // FromStart: seq 1 never came
		t.Fatalf("snapshot stream %+v", s)
	}
	if rep.Other != 2 || rep.Malformed != 1 || rep.Latency.Count != 9 || rep.Latency.P50 < 49 || rep.Latency.P50 > 51 {
		t.Fatalf("report %+v", rep)
	}
}

func TestRangeSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s rangeSet
	ref := map[uint64]bool{}
	for range 5000 {
		v := 1 + rng.Uint64N(3000)
		if s.add(v) == ref[v] {
			t.Fatalf("add(%d) newness wrong", v)
		}
		ref[v] = true
	}
	if s.count() != uint64(len(ref)) {
		t.Fatalf("count %d, want %d", s.count(), len(ref))
	}
	for i := 1; i < len(s.r); i++ {
		if s.r[i-1][1]+1 >= s.r[i][0] {
			t.Fatalf("ranges %v and %v overlap or touch", s.r[i-1], s.r[i])
		}
	}
	var none rangeSet
	missing := uint64(0)
	for _, g := range s.gaps(1, 3000, &none) {
		missing += g[1] - g[0] + 1
	}
	if missing != 3000-uint64(len(ref)) {
		t.Fatalf("gaps cover %d, want %d", missing, 3000-len(ref))
	}
}

// FuzzParse feeds arbitrary topics and payloads to the parser and the
// ledger: no panic, and a parsed record has a non-zero seq and a stream.
func FuzzParse(f *testing.F) {
	topic, p := rec("dev1:defect.cam1:3", 3, time.Unix(0, 0))
	f.Add(topic, p)
	f.Add("a/events/drops", []byte(`{"id":"d:drops:1","seq":1,"drops":[{"stream":"s","ranges":[[1,4]]}]}`))
	f.Add("a/snapshots/d:s:9", []byte{1})
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		r, err := Parse(topic, payload)
		if err == nil && (r.Seq == 0 || r.Stream == "" || r.Device == "") {
			t.Fatalf("accepted %+v", r)
		}
		l := New(false)
		_ = l.Observe(topic, payload, time.Now())
		_ = l.Report()
	})
}
