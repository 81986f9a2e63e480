package outbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// request is one Append or Ack waiting for the writer.
type request struct {
	rec     Record
	created time.Time
	keys    []Key // ack request when non-nil
	receipt Receipt
	err     error
	done    chan struct{}
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func getRequest() *request { return requestPool.Get().(*request) }

func putRequest(r *request) {
	*r = request{done: r.done}
	requestPool.Put(r)
}

// Append stores rec and returns once the group holding it has committed
// (fsync included). ctx bounds only the wait for room in the queue: once
// queued, the record is committed and Append reports the real outcome.
// rec.Payload must not be modified until Append returns.
func (o *Outbox) Append(ctx context.Context, rec Record) (Receipt, error) {
	if err := rec.validate(); err != nil {
		return Receipt{}, fmt.Errorf("outbox: append: %w", err)
	}
	r := getRequest()
	r.rec, r.created = rec, time.Now()
	if err := o.submit(ctx, r); err != nil {
		putRequest(r)
		return Receipt{}, fmt.Errorf("outbox: append: %w", err)
	}
	<-r.done
	rc, err := r.receipt, r.err
	putRequest(r)
	if err != nil {
		return Receipt{}, fmt.Errorf("outbox: append: %w", err)
	}
	return rc, nil
}

// Ack deletes the records with the given keys, returning once the deletion
// has committed. Keys that are already gone are ignored, so acknowledging a
// re-published record twice is harmless. Until Ack returns the records are
// still stored; a crash before that only leads to a second publish.
func (o *Outbox) Ack(keys ...Key) error {
	if len(keys) == 0 {
		return nil
	}
	r := getRequest()
	r.keys = append(make([]Key, 0, len(keys)), keys...)
	if err := o.submit(context.Background(), r); err != nil {
		putRequest(r)
		return fmt.Errorf("outbox: ack: %w", err)
	}
	<-r.done
	err := r.err
	putRequest(r)
	if err != nil {
		return fmt.Errorf("outbox: ack: %w", err)
	}
	return nil
}

// submit queues r for the writer. The read lock keeps Close from closing the
// queue while a send is in progress.
func (o *Outbox) submit(ctx context.Context, r *request) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	o.pending.Add(1)
	select {
	case o.reqs <- r:
		return nil
	default:
	}
	select {
	case o.reqs <- r:
		return nil
	case <-ctx.Done():
		o.pending.Add(-1)
		return ctx.Err()
	}
}

// writer is the only goroutine that writes to the file. It gathers requests
// into a group and commits the group in one transaction.
func (o *Outbox) writer() {
	defer close(o.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]*request, 0, o.opts.BatchMax)
	var arena []byte
	for open := true; open; {
		r, ok := <-o.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		timer.Reset(o.opts.BatchDelay)
		batch, open = o.gather(batch, timer)
		timer.Stop()
		arena = o.commit(batch, arena)
	}
}

// gather adds requests to batch until it is full, the delay has passed, the
// queue is closed, or every caller waiting on the outbox is already in it.
func (o *Outbox) gather(batch []*request, timer *time.Timer) ([]*request, bool) {
	yielded := false
	for len(batch) < o.opts.BatchMax {
		select {
		case r, ok := <-o.reqs:
			if !ok {
				return batch, false
			}
			batch = append(batch, r)
			continue
		default:
		}
		if int64(len(batch)) >= o.pending.Load() {
			if yielded {
				return batch, true
			}
			// Callers answered by the previous commit are usually about to
			// append again; let them run once before closing a small group.
			yielded = true
			runtime.Gosched()
			continue
		}
		select {
		case r, ok := <-o.reqs:
			if !ok {
				return batch, false
			}
			batch = append(batch, r)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}

// commit writes one group and answers every request in it. arena holds the
// stored values, which bbolt references until the transaction ends; it is
// returned for reuse by the next group.
func (o *Outbox) commit(batch []*request, arena []byte) []byte {
	need := 0
	for _, r := range batch {
		if r.keys == nil {
			need += 64 + len(r.rec.Stream) + len(r.rec.Topic) + len(r.rec.Payload) + 2*(len(o.opts.Device)+len(r.rec.Stream)+24)
		}
	}
	if cap(arena) < need {
		arena = make([]byte, 0, need)
	}
	buf := arena[:0]
	var appended, deleted int
	seqs := make(map[string]uint64, 4)
	start := time.Now()
	err := o.db.Update(func(tx *bolt.Tx) error {
		recs, seqB := tx.Bucket(bucketRecords), tx.Bucket(bucketSeq)
		for _, r := range batch {
			if r.keys != nil {
				for _, k := range r.keys {
					if recs.Get(k[:]) != nil {
						if err := recs.Delete(k[:]); err != nil {
							return err
						}
						deleted++
					}
				}
				continue
			}
			seq, ok := seqs[r.rec.Stream]
			if !ok {
				if v := seqB.Get([]byte(r.rec.Stream)); len(v) == 8 {
					seq = binary.BigEndian.Uint64(v)
				}
			}
			seq++
			seqs[r.rec.Stream] = seq
			n, err := recs.NextSequence()
			if err != nil {
				return err
			}
			id := makeID(o.opts.Device, r.rec.Stream, seq)
			mark := len(buf)
			buf = encodeValue(buf, r.rec.QoS, r.created, r.rec.Stream, seq, expandTopic(r.rec.Topic, id))
			if r.rec.JSON {
				buf = splice(buf, r.rec.Payload, id, seq)
			} else {
				buf = append(buf, r.rec.Payload...)
			}
			k := makeKey(r.rec.Priority, n)
			if err := recs.Put(k[:], buf[mark:len(buf):len(buf)]); err != nil {
				return err
			}
			r.receipt = Receipt{Stream: r.rec.Stream, Seq: seq, ID: id}
			appended++
		}
		for s, seq := range seqs {
			if err := seqB.Put([]byte(s), binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return nil
	})
	o.stats.record(appended, deleted, time.Since(start), err)
	if err != nil {
		err = fmt.Errorf("commit: %w", err)
		o.logCommitError(err)
	} else {
		o.depth.Add(int64(appended - deleted))
		o.updateSize()
		o.logCommitError(nil)
	}
	for _, r := range batch {
		if r.err = err; err != nil {
			r.receipt = Receipt{}
		}
		o.pending.Add(-1)
		r.done <- struct{}{}
	}
	if err == nil && appended > 0 {
		select {
		case o.notify <- struct{}{}:
		default:
		}
	}
	return buf[:0]
}
