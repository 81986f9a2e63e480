package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// refStore writes a store with records of several streams, tiers and sizes
// (some on overflow pages), acknowledges a few, and returns its bytes and
// the records by id: those stored now and all ever written.
func refStore(t *testing.T) ([]byte, map[string]Message, map[string]Message) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ref.db")
	o := openT(t, path, Options{Device: "dev"})
	ctx := context.Background()
	for i := range 600 {
		r := rec([]string{"defect.cam1", "defect.cam2", "telemetry.m1"}[i%3], Priority(i%3), fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", i%7*40)))
		r.JSON = true
		if i%50 == 0 {
			r = Record{Stream: "snap", Topic: "t/snapshots/{id}", QoS: 1, Priority: PrioritySnapshot, Payload: bytes.Repeat([]byte{byte(i)}, 9000)}
		}
		if _, err := o.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	msgs := all(t, o)
	written := map[string]Message{}
	for _, m := range msgs {
		written[fmt.Sprintf("%s:%d", m.Stream, m.Seq)] = m
	}
	if err := o.Ack(msgs[0].Key, msgs[7].Key, msgs[300].Key); err != nil {
		t.Fatal(err)
	}
	byID := map[string]Message{}
	for _, m := range all(t, o) {
		byID[fmt.Sprintf("%s:%d", m.Stream, m.Seq)] = m
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, byID, written
}

// damages are the 20 ways a store file is broken in TestSalvage; each
// returns the broken bytes and whether the damage must be found.
func damages(ref []byte) map[string]func(*rand.Rand) ([]byte, bool) {
	ps := os.Getpagesize()
	random := func(n int) func(*rand.Rand) ([]byte, bool) {
		return func(r *rand.Rand) ([]byte, bool) {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.UintN(256))
			}
			return b, true
		}
	}
	// bbolt grows the file ahead of its data, so only short cuts are sure
	// to cut data; longer ones must then leave every record intact.
	cut := func(frac float64) func(*rand.Rand) ([]byte, bool) {
		return func(*rand.Rand) ([]byte, bool) {
			return append([]byte(nil), ref[:int(float64(len(ref))*frac)/ps*ps]...), frac <= 0.3
		}
	}
	overwrite := func(page int, fill func(r *rand.Rand, p []byte)) func(*rand.Rand) ([]byte, bool) {
		return func(r *rand.Rand) ([]byte, bool) {
			b := append([]byte(nil), ref...)
			if page < 0 {
				page = 2 + r.IntN(len(b)/ps-2)
			}
			fill(r, b[page*ps:(page+1)*ps])
			return b, false
		}
	}
	zero := func(_ *rand.Rand, p []byte) { clear(p) }
	noise := func(r *rand.Rand, p []byte) {
		for i := range p {
			p[i] = byte(r.UintN(256))
		}
	}
	flip := func(r *rand.Rand, p []byte) {
		for range 8 {
			p[r.IntN(len(p))] ^= byte(1 + r.UintN(255))
		}
	}
	bothMetas := func(*rand.Rand) ([]byte, bool) {
		b := append([]byte(nil), ref...)
		clear(b[:2*ps])
		return b, true
	}
	return map[string]func(*rand.Rand) ([]byte, bool){
		"random 10B": random(10), "random 4KiB": random(4096), "random 64KiB": random(64 << 10),
		"empty": func(*rand.Rand) ([]byte, bool) { return nil, true },
		"cut 1 page": func(*rand.Rand) ([]byte, bool) {
			return append([]byte(nil), ref[:ps]...), true
		},
		"cut 10%": cut(0.1), "cut 30%": cut(0.3), "cut 50%": cut(0.5), "cut 75%": cut(0.75), "cut 95%": cut(0.95),
		"meta0 zeroed": overwrite(0, zero), "both metas zeroed": bothMetas,
		"page zeroed a": overwrite(-1, zero), "page zeroed b": overwrite(-1, zero),
		"page noise a": overwrite(-1, noise), "page noise b": overwrite(-1, noise), "page noise c": overwrite(-1, noise),
		"bit flips a": overwrite(-1, flip), "bit flips b": overwrite(-1, flip), "bit flips c": overwrite(-1, flip),
	}
}

func TestSalvage(t *testing.T) {
	ref, byID, written := refStore(t)
	cases := damages(ref)
	if len(cases) != 20 {
		t.Fatalf("%d damages, want 20", len(cases))
	}
	seed := uint64(0)
	for name, damage := range cases {
		seed++
		t.Run(name, func(t *testing.T) {
			broken, mustFind := damage(rand.New(rand.NewPCG(seed, 7)))
			dir := t.TempDir()
			path := filepath.Join(dir, "ob.db")
			if err := os.WriteFile(path, broken, 0o600); err != nil {
				t.Fatal(err)
			}
			o, err := Open(path, Options{Device: "dev", LockTimeout: time.Second, StoreTopic: "t/events/store"}, nil)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer o.Close()
			rep := o.Salvaged()
			if mustFind && rep == nil {
				t.Fatal("damage not found")
			}
			if rep != nil {
				t.Logf("salvaged %d records, lost %d, seqs recovered %t: %s", rep.Records, rep.Lost, rep.SeqsRecovered, rep.Reason)
				checkAside(t, rep, path, broken)
				checkReport(t, o)
			}
			seqMax := map[string]uint64{}
			for _, m := range all(t, o) {
				if m.Stream == "store" {
					continue
				}
				// A page scan may bring back delivered records, never
				// altered or invented ones.
				id := fmt.Sprintf("%s:%d", m.Stream, m.Seq)
				want, ok := byID[id]
				if w, was := written[id]; !ok && was && rep != nil && rep.Scanned {
					want, ok = w, true
				}
				if !ok || !bytes.Equal(want.Payload, m.Payload) || want.Topic != m.Topic || want.Key != m.Key {
					t.Fatalf("record %s came back altered or invented", id)
				}
				seqMax[m.Stream] = max(seqMax[m.Stream], m.Seq)
			}
			if rep == nil && o.Depth() != len(byID) {
				t.Fatalf("undamaged store has %d records, want %d", o.Depth(), len(byID))
			}
			rc, err := o.Append(context.Background(), rec("defect.cam1", PriorityEvent, "new"))
			if err != nil {
				t.Fatalf("append after salvage: %v", err)
			}
			if rc.Seq <= seqMax["defect.cam1"] {
				t.Fatalf("new seq %d reuses a salvaged one (max %d)", rc.Seq, seqMax["defect.cam1"])
			}
		})
	}
}

// checkAside asserts the damaged file kept its bytes under its new name and
// the report record is stored.
func checkAside(t *testing.T, rep *SalvageReport, path string, broken []byte) {
	t.Helper()
	if !strings.HasPrefix(rep.Aside, path+".corrupt-") || rep.Reason == "" {
		t.Fatalf("report %+v", rep)
	}
	got, err := os.ReadFile(rep.Aside)
	if err != nil || !bytes.Equal(got, broken) {
		t.Fatalf("damaged file not kept intact aside: %v", err)
	}
}

// checkReport asserts the salvage report record is stored in the alarm
// tier.
func checkReport(t *testing.T, o *Outbox) {
	t.Helper()
	for _, m := range all(t, o) {
		if m.Stream != "store" {
			continue
		}
		var p struct {
			Event  string        `json:"event"`
			Report SalvageReport `json:"report"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || p.Event != "salvaged" || p.Report.Aside == "" {
			t.Fatalf("store report %s: %v", m.Payload, err)
		}
		if m.Key.Priority() != PriorityAlarm || m.Topic != "t/events/store" {
			t.Fatalf("store report at %s on %s", m.Key, m.Topic)
		}
		return
	}
	t.Fatal("no store report record")
}
