package outbox

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// benchValueSize is the stored size of a typical defect event.
const benchValueSize = 300

// benchInFlight is how many appends each producer of BenchmarkAppend8 keeps
// outstanding with AppendAsync.
const benchInFlight = 64

// BenchmarkAppend8 measures durable appends from 8 concurrent producers,
// each keeping up to benchInFlight appends in flight with AppendAsync (a
// record counts once its commit, fsync included, has been reported); b.N
// counts records. This is how a producer with a steady stream uses the
// outbox; BenchmarkAppend8Sync is the one-at-a-time Append.
func BenchmarkAppend8(b *testing.B) {
	o := openT(b, filepath.Join(b.TempDir(), "ob.db"), Options{})
	defer o.Close()
	r := benchRecord()
	const producers = 8
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range producers {
		n := b.N / producers
		if p < b.N%producers {
			n++
		}
		wg.Go(func() {
			sem := make(chan struct{}, benchInFlight)
			done := func(_ Receipt, err error) {
				if err != nil {
					b.Error(err)
				}
				<-sem
			}
			for range n {
				sem <- struct{}{}
				if err := o.AppendAsync(context.Background(), r, done); err != nil {
					b.Error(err)
					return
				}
			}
			for range benchInFlight {
				sem <- struct{}{}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(o.Stats().MeanBatch(), "records/commit")
}

func benchRecord() Record {
	payload := append([]byte(`{"label":"scratch","pad":"`), bytes.Repeat([]byte("x"), benchValueSize-80)...)
	payload = append(payload, `"}`...)
	return Record{Stream: "defect", Topic: "lineside/v1/plant1/line3/lpc-07/events/defect", QoS: 1, Priority: PriorityEvent, Payload: payload, JSON: true}
}

// BenchmarkAppend8Sync measures durable appends from 8 producers that each
// wait for every Append; b.N counts records.
func BenchmarkAppend8Sync(b *testing.B) {
	o := openT(b, filepath.Join(b.TempDir(), "ob.db"), Options{})
	defer o.Close()
	r := benchRecord()
	const producers = 8
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range producers {
		n := b.N / producers
		if p < b.N%producers {
			n++
		}
		wg.Go(func() {
			for range n {
				if _, err := o.Append(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	st := o.Stats()
	b.ReportMetric(st.MeanBatch(), "records/commit")
}

// BenchmarkBareBolt100 is the raw bbolt figure: one Update with 100 Puts of
// benchValueSize bytes, keys from NextSequence; b.N counts records.
func BenchmarkBareBolt100(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("r")); return err }); err != nil {
		b.Fatal(err)
	}
	value := bytes.Repeat([]byte("x"), benchValueSize)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(100, b.N-done)
		err := db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte("r"))
			for range n {
				seq, err := bk.NextSequence()
				if err != nil {
					return err
				}
				var k [8]byte
				k[0], k[1], k[2], k[3] = byte(seq>>56), byte(seq>>48), byte(seq>>40), byte(seq>>32)
				k[4], k[5], k[6], k[7] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
				if err := bk.Put(k[:], value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
}
