package outbox

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// fillMixed appends records of several tiers, topics, QoS levels and sizes.
func fillMixed(t *testing.T, o *Outbox, n int) {
	t.Helper()
	ctx := context.Background()
	prios := []Priority{PriorityEvent, PriorityTelemetry, PriorityAlarm, PrioritySnapshot}
	for i := range n {
		p := prios[i%len(prios)]
		r := Record{Stream: p.String(), Topic: "b/" + p.String(), QoS: byte(i % 3), Priority: p, JSON: true,
			Payload: fmt.Appendf(nil, `{"i":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("x"), i%50))}
		if p == PrioritySnapshot {
			r.Topic, r.JSON, r.Payload = "b/snapshots/{id}", false, bytes.Repeat([]byte{byte(i)}, 1+i%300)
		}
		if _, err := o.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNextBatchMatchesNext(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	fillMixed(t, o, 200)
	want := all(t, o)
	skipped := map[Key]bool{want[0].Key: true, want[17].Key: true, want[150].Key: true}
	skip := func(k Key) bool { return skipped[k] }
	for _, max := range []int{1, 7, 64, 1000} {
		var got []Message
		var b Batch
		for cur := (Key{}); ; {
			var err error
			if cur, err = o.NextBatch(cur, max, 0, &b, skip); err != nil {
				t.Fatal(err)
			}
			if len(b.Msgs) == 0 {
				break
			}
			if len(b.Msgs) > max {
				t.Fatalf("max %d: %d messages", max, len(b.Msgs))
			}
			for _, m := range b.Msgs { // copies: b's payloads are reused
				m.Payload = bytes.Clone(m.Payload)
				got = append(got, m)
			}
		}
		var exp []Message
		for _, m := range want {
			if !skipped[m.Key] {
				exp = append(exp, m)
			}
		}
		if len(got) != len(exp) {
			t.Fatalf("max %d: %d messages, want %d", max, len(got), len(exp))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], exp[i]) {
				t.Fatalf("max %d: message %d is %+v, Next says %+v", max, i, got[i], exp[i])
			}
		}
	}
}

func TestNextBatchBytesAndSharing(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	for i := range 10 {
		r := Record{Stream: "snap", Topic: "b/snap", QoS: 1, Priority: PrioritySnapshot, Payload: bytes.Repeat([]byte{byte(i)}, 1000)}
		if _, err := o.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	var b Batch
	if _, err := o.NextBatch(Key{}, 100, 2500, &b, nil); err != nil {
		t.Fatal(err)
	}
	if len(b.Msgs) != 3 { // 1000, 2000, then 3000 >= 2500
		t.Fatalf("%d messages under a 2500-byte limit, want 3", len(b.Msgs))
	}
	if _, err := o.NextBatch(Key{}, 100, 10, &b, nil); err != nil || len(b.Msgs) != 1 {
		t.Fatalf("a limit below one record: %d messages, %v; want 1", len(b.Msgs), err)
	}
	if _, err := o.NextBatch(Key{}, 100, 0, &b, nil); err != nil || len(b.Msgs) != 10 {
		t.Fatalf("no limit: %d messages, %v", len(b.Msgs), err)
	}
	for i, m := range b.Msgs {
		if !bytes.Equal(m.Payload, bytes.Repeat([]byte{byte(i)}, 1000)) {
			t.Fatalf("payload %d damaged", i)
		}
		if unsafe.StringData(m.Topic) != unsafe.StringData(b.Msgs[0].Topic) || unsafe.StringData(m.Stream) != unsafe.StringData(b.Msgs[0].Stream) {
			t.Fatalf("message %d does not share the topic and stream strings", i)
		}
	}
}

func TestNextBatchAllocationsPerCallNotPerRecord(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	for i := range 256 {
		if _, err := o.Append(context.Background(), Record{Stream: "defect", Topic: "b/events/defect", QoS: 1, Priority: PriorityEvent, JSON: true,
			Payload: fmt.Appendf(nil, `{"i":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("x"), 200))}); err != nil {
			t.Fatal(err)
		}
	}
	var b Batch
	read := func() {
		if _, err := o.NextBatch(Key{}, 256, 0, &b, nil); err != nil || len(b.Msgs) != 256 {
			t.Fatalf("%d messages, %v", len(b.Msgs), err)
		}
	}
	read() // sizes the batch
	allocs := testing.AllocsPerRun(20, read)
	// Next allocates three times per record (topic, stream, payload); the
	// read transaction itself allocates a fixed handful.
	if allocs > 32 {
		t.Fatalf("reading 256 records allocates %v times, want a fixed handful", allocs)
	}
	t.Logf("%v allocations for 256 records", allocs)
}

// FuzzBatchDecode: the batch decoder accepts exactly what decodeValue
// accepts and yields the same message.
func FuzzBatchDecode(f *testing.F) {
	v := encodeValue(nil, 1, time.Unix(1, 2), "defect.cam1", 42, "b/events/defect")
	v = append(v, `{"id":"d:defect.cam1:42","seq":42}`...)
	f.Add(sealValue(bytes.Clone(v), 0))
	f.Add(v)
	f.Add([]byte{valueVersion1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{valueVersion, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a', 'b', 0, 1})
	f.Fuzz(func(t *testing.T, v []byte) {
		var want, got Message
		errWant := decodeValue(&want, v)
		var b Batch
		b.names = map[string]string{}
		errGot := b.decode(&got, v)
		if (errWant == nil) != (errGot == nil) {
			t.Fatalf("decodeValue: %v, batch decode: %v", errWant, errGot)
		}
		if errWant == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("decodeValue %+v, batch decode %+v", want, got)
		}
	})
}
