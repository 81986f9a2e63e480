package outbox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// recordSize is the stored value size of r's record, id splice included.
func recordSize(r *request, deviceLen int) int {
	return 68 + len(r.rec.Stream) + len(r.rec.Topic) + len(r.rec.Payload) + 2*(deviceLen+len(r.rec.Stream)+24)
}

// commit writes one group and answers every request in it: acknowledged
// records are deleted, the disk budget is kept (dropping records if need
// be), new records are stored and a due drop report is written (any pending
// one when final), all in one transaction. arena holds the stored values, which bbolt references until
// the transaction ends; it is returned for reuse by the next group.
func (o *Outbox) commit(batch []*request, arena []byte, final bool) []byte {
	size, need := 0, int64(0)
	for _, r := range batch {
		if r.keys == nil {
			n := recordSize(r, len(o.opts.Device))
			size += n
			need += o.budget.footprint(len(Key{}), n)
		}
	}
	if cap(arena) < size {
		arena = make([]byte, 0, size)
	}
	buf := arena[:0]
	var appended, deleted int
	var added int64
	var drops []dropEvent
	var pending []DropEntry
	reported := false
	now := time.Now()
	seqs := make(map[string]uint64, 4)
	err := o.db.Update(func(tx *bolt.Tx) error {
		recs, meta := tx.Bucket(bucketRecords), tx.Bucket(bucketMeta)
		// Records are appended at the end of each tier and deleted from
		// its head: full pages waste nothing.
		recs.FillPercent = 0.95
		freed := int64(0)
		// One cursor seek per acknowledged key finds the value (for the
		// budget) and deletes it, instead of a Get and a Delete that would
		// each search the tree.
		c := recs.Cursor()
		for _, r := range batch {
			for _, k := range r.keys {
				if ck, v := c.Seek(k[:]); ck != nil && bytes.Equal(ck, k[:]) {
					freed += o.budget.footprint(len(k), len(v))
					if err := c.Delete(); err != nil {
						return err
					}
					deleted++
				}
			}
		}
		if short := o.budget.shortfall(need) - freed; short > 0 {
			var err error
			if drops, err = o.makeRoom(recs, batch, short); err != nil {
				return err
			}
			deleted += countStored(drops)
		}
		for _, r := range batch {
			if r.keys != nil || r.err != nil {
				continue
			}
			mark := len(buf)
			rc, b, err := o.put(tx, r.rec, r.created, seqs, buf)
			if err != nil {
				return err
			}
			buf, r.receipt = b, rc
			added += o.budget.footprint(len(Key{}), len(b)-mark)
			appended++
		}
		pending = o.drops.merged(drops)
		if len(pending) > 0 && o.opts.DropTopic != "" && (final || o.drops.reportDue(now, o.opts.DropReportInterval)) {
			rec := Record{Stream: "drops", Topic: o.opts.DropTopic, QoS: 1, Priority: PriorityAlarm, Payload: dropReport(now, pending), JSON: true}
			var err error
			if _, buf, err = o.put(tx, rec, now, seqs, buf); err != nil {
				return err
			}
			appended++
			reported = true
		}
		if err := flushSeqs(tx, seqs); err != nil {
			return err
		}
		if reported || len(pending) == 0 {
			return meta.Delete(keyDrops)
		}
		if len(drops) == 0 {
			return nil
		}
		b, _ := json.Marshal(pending)
		return meta.Put(keyDrops, b)
	})
	o.stats.record(appended, deleted, time.Since(now), err)
	if err != nil {
		err = fmt.Errorf("commit: %w", err)
		o.logCommitError(err)
	} else {
		o.depth.Add(int64(appended - deleted))
		o.updateSize()
		o.budget.observe(o.db)
		o.rate.add(now, added)
		o.drops.apply(pending, drops, reported, now)
		o.logDrops(drops)
		o.logCommitError(nil)
	}
	for _, r := range batch {
		if err != nil {
			r.err = err
		}
		if r.err != nil {
			r.receipt = Receipt{}
		}
		o.pending.Add(-1)
		if r.cb != nil {
			r.cb(r.receipt, r.err)
			putRequest(r)
			continue
		}
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

// countStored counts the drops of stored records (not refused appends).
func countStored(ev []dropEvent) int {
	n := 0
	for _, d := range ev {
		if d.reason == DropBudget {
			n++
		}
	}
	return n
}

// put stores one record in tx: it assigns the next seq of the stream (seqs
// caches them until flushSeqs), the id, and the key. The stored value is
// appended to buf, which must stay untouched until the transaction ends.
func (o *Outbox) put(tx *bolt.Tx, rec Record, created time.Time, seqs map[string]uint64, buf []byte) (Receipt, []byte, error) {
	recs := tx.Bucket(bucketRecords)
	seq, ok := seqs[rec.Stream]
	if !ok {
		if v := tx.Bucket(bucketSeq).Get([]byte(rec.Stream)); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
	}
	seq++
	seqs[rec.Stream] = seq
	n, err := recs.NextSequence()
	if err != nil {
		return Receipt{}, buf, err
	}
	id := makeID(o.opts.Device, rec.Stream, seq)
	mark := len(buf)
	buf = encodeValue(buf, rec.QoS, created, rec.Stream, seq, expandTopic(rec.Topic, id))
	if rec.JSON {
		buf = splice(buf, rec.Payload, id, seq)
	} else {
		buf = append(buf, rec.Payload...)
	}
	buf = sealValue(buf, mark)
	k := makeKey(rec.Priority, n)
	if err := recs.Put(k[:], buf[mark:len(buf):len(buf)]); err != nil {
		return Receipt{}, buf, err
	}
	return Receipt{Stream: rec.Stream, Seq: seq, ID: id}, buf, nil
}

// flushSeqs writes the cached last seqs of the streams.
func flushSeqs(tx *bolt.Tx, seqs map[string]uint64) error {
	b := tx.Bucket(bucketSeq)
	for s, seq := range seqs {
		if err := b.Put([]byte(s), binary.BigEndian.AppendUint64(nil, seq)); err != nil {
			return err
		}
	}
	return nil
}

// logDrops logs drops as a summary per commit, at most once per second.
func (o *Outbox) logDrops(ev []dropEvent) {
	if len(ev) == 0 {
		return
	}
	now := time.Now().Unix()
	if last := o.stats.dropLog.Load(); last == now || !o.stats.dropLog.CompareAndSwap(last, now) {
		return
	}
	o.log.Warn("disk budget reached; dropping the oldest records of the lowest tier", "dropped", len(ev), "first_stream", ev[0].stream, "max_bytes", o.opts.MaxBytes)
}
