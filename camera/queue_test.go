package camera

import "testing"

func TestQueueDropsOldestAndNeverGrows(t *testing.T) {
	q := NewQueue(2)
	defer q.Free()
	for i := 1; i <= 5; i++ {
		f := q.Acquire()
		f.Seq = uint64(i)
		q.Publish(f)
	}
	if q.Len() != 2 {
		t.Fatalf("len %d, want 2", q.Len())
	}
	if q.Dropped() != 3 {
		// Nobody consumes: frames 3, 4 and 5 each push out the oldest queued one.
		t.Fatalf("dropped %d, want 3", q.Dropped())
	}
	q.Close()
	var seqs []uint64
	for f := range q.Frames() {
		seqs = append(seqs, f.Seq)
		q.Release(f)
	}
	if len(seqs) != 2 || seqs[0] != 4 || seqs[1] != 5 {
		t.Fatalf("delivered %v, want newest [4 5]", seqs)
	}
}
