package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openT(t testing.TB, path string, opts Options) *Outbox {
	t.Helper()
	if opts.Device == "" {
		opts.Device = "lpc-07"
	}
	o, err := Open(path, opts, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return o
}

func rec(stream string, p Priority, payload string) Record {
	return Record{Stream: stream, Topic: "t/" + stream, QoS: 1, Priority: p, Payload: []byte(payload)}
}

// all reads every stored message in drain order.
func all(t testing.TB, o *Outbox) []Message {
	t.Helper()
	msgs, _, err := o.Next(Key{}, 1<<30, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	o := openT(t, path, Options{})
	ctx := context.Background()
	const n = 300
	for i := range n {
		stream := []string{"defect", "health", "telemetry"}[i%3]
		if _, err := o.Append(ctx, rec(stream, PriorityEvent, fmt.Sprintf("p%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o = openT(t, path, Options{})
	defer o.Close()
	if o.Depth() != n {
		t.Fatalf("depth after reopen = %d, want %d", o.Depth(), n)
	}
	msgs := all(t, o)
	if len(msgs) != n {
		t.Fatalf("read %d records, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("p%d", i); string(m.Payload) != want {
			t.Fatalf("record %d payload %q, want %q", i, m.Payload, want)
		}
		if want := uint64(i/3 + 1); m.Seq != want || m.Topic != "t/"+m.Stream || m.QoS != 1 {
			t.Fatalf("record %d = %+v, want seq %d", i, m, want)
		}
		if time.Since(m.Created) > time.Minute {
			t.Fatalf("record %d created %v", i, m.Created)
		}
	}
	if o.Bytes() <= 0 {
		t.Fatalf("bytes = %d", o.Bytes())
	}
}

func TestSeqNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	ctx := context.Background()
	var got []uint64
	for round := range 3 {
		o := openT(t, path, Options{})
		for range 4 {
			rc, err := o.Append(ctx, rec("defect", PriorityEvent, "{}"))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rc.Seq)
			if want := fmt.Sprintf("lpc-07:defect:%d", rc.Seq); rc.ID != want {
				t.Fatalf("id %q, want %q", rc.ID, want)
			}
		}
		if round == 1 { // emptying the store must not reset the counter
			var keys []Key
			for _, m := range all(t, o) {
				keys = append(keys, m.Key)
			}
			if err := o.Ack(keys...); err != nil {
				t.Fatal(err)
			}
		}
		if o.LastSeq("defect") != got[len(got)-1] {
			t.Fatalf("LastSeq = %d, want %d", o.LastSeq("defect"), got[len(got)-1])
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("seqs %v: not 1..%d", got, len(got))
		}
	}
}

func TestConcurrentProducers(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{QueueLen: 64})
	defer o.Close()
	const producers, each = 8, 1000
	streams := []string{"defect", "health", "telemetry"}
	receipts := make([][]Receipt, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				r := rec(streams[(p+i)%len(streams)], PriorityEvent, `{"n":1}`)
				r.JSON = true
				rc, err := o.Append(context.Background(), r)
				if err != nil {
					t.Error(err)
					return
				}
				receipts[p] = append(receipts[p], rc)
			}
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	maxSeq := map[string]uint64{}
	count := map[string]uint64{}
	for _, rs := range receipts {
		for _, rc := range rs {
			if ids[rc.ID] {
				t.Fatalf("duplicate id %s", rc.ID)
			}
			ids[rc.ID] = true
			count[rc.Stream]++
			maxSeq[rc.Stream] = max(maxSeq[rc.Stream], rc.Seq)
		}
	}
	if len(ids) != producers*each {
		t.Fatalf("%d ids, want %d", len(ids), producers*each)
	}
	for s, n := range count { // n distinct seqs in 1..max means 1..n exactly
		if maxSeq[s] != n {
			t.Errorf("stream %s: %d records but max seq %d", s, n, maxSeq[s])
		}
	}
	last := map[string]uint64{}
	for _, m := range all(t, o) { // stored order follows seq order per stream
		if m.Seq != last[m.Stream]+1 {
			t.Fatalf("stream %s: seq %d after %d", m.Stream, m.Seq, last[m.Stream])
		}
		last[m.Stream] = m.Seq
	}
	st := o.Stats()
	t.Logf("commits=%d mean batch=%.1f max batch=%d", st.Commits, st.MeanBatch(), st.MaxBatch)
	if st.Appends != producers*each || o.Depth() != producers*each {
		t.Fatalf("stats %+v depth %d", st, o.Depth())
	}
}

func TestNextPriorityOrderAndSkip(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	ctx := context.Background()
	order := []Priority{PriorityMetrics, PriorityTelemetry, PriorityAlarm, PriorityEvent, PrioritySnapshot, PriorityAlarm, PriorityMetrics}
	for i, p := range order {
		if _, err := o.Append(ctx, rec(p.String(), p, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"2", "5", "3", "4", "1", "0", "6"}
	var got []string
	for _, m := range all(t, o) {
		got = append(got, string(m.Payload))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drain order %v, want %v", got, want)
	}
	// Walk two at a time with a cursor, skipping the first alarm.
	first := all(t, o)[0].Key
	skip := func(k Key) bool { return k == first }
	var walked []string
	var buf []Message
	var err error
	for cur := (Key{}); ; {
		buf, cur, err = o.Next(cur, 2, buf, skip)
		if err != nil {
			t.Fatal(err)
		}
		if len(buf) == 0 {
			break
		}
		for _, m := range buf {
			walked = append(walked, string(m.Payload))
		}
	}
	if fmt.Sprint(walked) != fmt.Sprint(want[1:]) {
		t.Fatalf("walk %v, want %v", walked, want[1:])
	}
}

func TestAckRemoves(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	for i := range 10 {
		if _, err := o.Append(context.Background(), rec("defect", PriorityEvent, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	msgs := all(t, o)
	if err := o.Ack(msgs[0].Key, msgs[3].Key, msgs[3].Key, makeKey(PriorityAlarm, 999)); err != nil {
		t.Fatal(err)
	}
	if o.Depth() != 8 || len(all(t, o)) != 8 || o.Stats().Acks != 2 {
		t.Fatalf("depth %d, stored %d, acks %d; want 8, 8, 2", o.Depth(), len(all(t, o)), o.Stats().Acks)
	}
	for _, m := range all(t, o) {
		if m.Key == msgs[0].Key || m.Key == msgs[3].Key {
			t.Fatalf("acked record %s still stored", m.Key)
		}
	}
}

func TestClosed(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Append(context.Background(), rec("defect", PriorityEvent, "x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	if err := o.Ack(Key{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("ack after close: %v, want ErrClosed", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestAppendHonoursContextWhenQueueFull(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{QueueLen: 2, BatchMax: 1})
	// Hold bbolt's writer lock so the writer goroutine stalls in its commit.
	release, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = o.db.Update(func(*bolt.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	var wg sync.WaitGroup
	results := make(chan error, 3)
	for range 3 { // one in the stalled commit, two fill the queue
		wg.Go(func() {
			_, err := o.Append(context.Background(), rec("defect", PriorityEvent, "x"))
			results <- err
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(o.reqs) < cap(o.reqs) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := o.Append(ctx, rec("defect", PriorityEvent, "late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append on full queue: %v, want deadline exceeded", err)
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if o.Depth() != 3 {
		t.Fatalf("depth %d, want 3", o.Depth())
	}
}
