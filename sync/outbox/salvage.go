package outbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SalvageReport describes a damaged store file that Open set aside.
type SalvageReport struct {
	// Time is when the damage was found.
	Time time.Time `json:"ts"`
	// Path is the store file; Aside is the damaged file's new name.
	Path  string `json:"path"`
	Aside string `json:"aside"`
	// Reason says what was wrong with the file.
	Reason string `json:"reason"`
	// Records counts the records copied into the fresh store.
	Records int `json:"records"`
	// Lost counts damaged pages and records that could not be read; the
	// number of records on a damaged page is unknown.
	Lost int `json:"lost"`
	// SeqsRecovered reports whether the per-stream sequence numbers were
	// read. When false, each stream continues after the highest seq among
	// its salvaged records, and ids published before may be reused.
	SeqsRecovered bool `json:"seqs_recovered"`
	// Scanned is set when the tree could not be walked whole and every page
	// was searched for records; records delivered before may come back.
	Scanned bool `json:"scanned"`
}

// Salvaged returns the report of the salvage Open performed, or nil when the
// file was sound.
func (o *Outbox) Salvaged() *SalvageReport { return o.salv }

// salvageBatch is the number of records copied per transaction.
const salvageBatch = 2048

// salvage copies what can be read from the damaged file aside into the fresh
// store, then writes the report record.
func (o *Outbox) salvage(aside string, damage error) {
	rep := &SalvageReport{Time: time.Now().UTC(), Path: o.path, Aside: aside, Reason: damage.Error()}
	o.salv = rep
	seqs := map[string]uint64{}
	var recSeq uint64
	err := o.readDamaged(aside, rep, seqs, &recSeq)
	if err != nil {
		rep.Lost++
		o.log.Warn("nothing more could be read from the damaged store", "aside", aside, "err", err)
	}
	err = o.db.Update(func(tx *bolt.Tx) error {
		recs, seqB := tx.Bucket(bucketRecords), tx.Bucket(bucketSeq)
		if recs.Sequence() < recSeq {
			if err := recs.SetSequence(recSeq); err != nil {
				return err
			}
		}
		for s, seq := range seqs {
			if v := seqB.Get([]byte(s)); len(v) == 8 && binary.BigEndian.Uint64(v) >= seq {
				continue
			}
			if err := seqB.Put([]byte(s), binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		if o.opts.StoreTopic == "" {
			return nil
		}
		payload, _ := json.Marshal(map[string]any{"event": "salvaged", "report": rep})
		seqs := map[string]uint64{}
		if _, _, err := o.put(tx, Record{Stream: "store", Topic: o.opts.StoreTopic, QoS: 1, Priority: PriorityAlarm, Payload: payload, JSON: true}, time.Now(), seqs, nil); err != nil {
			return err
		}
		return flushSeqs(tx, seqs)
	})
	if err != nil {
		o.log.Error("salvage could not be completed", "err", err)
	}
	o.depth.Store(int64(o.countRecords()))
	o.log.Error("store salvaged", "aside", aside, "records", rep.Records, "lost", rep.Lost, "seqs_recovered", rep.SeqsRecovered)
}

// readDamaged copies the records of the damaged file into the fresh store
// and collects the sequence numbers. It walks the tree as bbolt would,
// skipping damaged pages; when the tree could not be read whole it also
// scans every page for records, which may bring back records that had been
// delivered and deleted (duplicates downstream rather than losses).
func (o *Outbox) readDamaged(aside string, rep *SalvageReport, seqs map[string]uint64, recSeq *uint64) error {
	f, err := os.Open(aside)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c := &salvageCopy{o: o, rep: rep, seqs: seqs, recSeq: recSeq, seen: map[Key]bool{}}
	lost := 0
	pageSize := os.Getpagesize()
	pf, err := openPageFile(f, fi.Size(), false)
	if err == nil {
		pageSize = pf.meta.pageSize
		err = pf.walk(pf.meta.root, nil, nil, 0, false, &lost, func(e element) error {
			if !e.bucket {
				return nil
			}
			switch string(e.key) {
			case string(bucketRecords):
				seq, err := pf.bucket(e.value, 1, false, &lost, c.record)
				*recSeq = max(*recSeq, seq)
				return err
			case string(bucketSeq):
				before := lost
				_, err := pf.bucket(e.value, 1, false, &lost, func(r element) error {
					if len(r.value) == 8 && validName(string(r.key)) {
						seqs[string(r.key)] = max(seqs[string(r.key)], binary.BigEndian.Uint64(r.value))
					}
					return nil
				})
				rep.SeqsRecovered = lost == before
				return err
			}
			return nil
		})
	}
	if err != nil || lost > 0 {
		rep.Scanned = true
		scanLeaves(f, fi.Size(), pageSize, func(e element) {
			if c.err == nil {
				c.err = c.record(e)
			}
		})
	}
	rep.Lost += lost + c.bad
	if ferr := c.flush(); c.err == nil {
		c.err = ferr
	}
	if c.err != nil {
		return fmt.Errorf("copy salvaged records: %w", c.err)
	}
	if err != nil && !errors.Is(err, errDamaged) {
		return err
	}
	return nil
}

// salvageCopy copies records into the fresh store in batches, once each.
type salvageCopy struct {
	o      *Outbox
	rep    *SalvageReport
	seqs   map[string]uint64
	recSeq *uint64
	seen   map[Key]bool
	batch  []Message
	bad    int
	err    error
}

// record takes one leaf element of the records bucket.
func (c *salvageCopy) record(e element) error {
	var m Message
	if e.bucket || len(e.key) != len(Key{}) || decodeValue(&m, e.value) != nil || int(e.key[0]) >= numPriorities {
		c.bad++
		return nil
	}
	copy(m.Key[:], e.key)
	if c.seen[m.Key] {
		return nil
	}
	c.seen[m.Key] = true
	*c.recSeq = max(*c.recSeq, binary.BigEndian.Uint64(e.key[1:]))
	c.seqs[m.Stream] = max(c.seqs[m.Stream], m.Seq)
	m.Payload = append([]byte(nil), e.value...) // the stored value, kept as is
	c.batch = append(c.batch, m)
	if len(c.batch) >= salvageBatch {
		return c.flush()
	}
	return nil
}

func (c *salvageCopy) flush() error {
	if len(c.batch) == 0 {
		return nil
	}
	err := c.o.db.Update(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketRecords)
		for _, m := range c.batch {
			if err := recs.Put(m.Key[:], m.Payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		c.rep.Records += len(c.batch)
	}
	c.batch = c.batch[:0]
	return err
}

// countRecords counts the stored records.
func (o *Outbox) countRecords() int {
	n := 0
	_ = o.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketRecords).Stats().KeyN
		return nil
	})
	return n
}
