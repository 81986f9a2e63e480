package outbox

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Next appends to dst[:0] up to max stored messages that come after the key
// after (the zero Key starts at the beginning), in drain order: highest
// priority first, oldest first within a tier, which keeps per-stream order for
// a stream that always uses the same priority. Keys for which skip returns
// true (records the caller already has in flight) are passed over without
// counting against max; skip may be nil. The returned Key is the last key
// examined, to continue a walk; it equals after when nothing was left.
//
// Next runs in a read transaction and never blocks the writer for long; it
// is safe to call concurrently with every other method until Close returns.
func (o *Outbox) Next(after Key, max int, dst []Message, skip func(Key) bool) ([]Message, Key, error) {
	dst = dst[:0]
	if max <= 0 {
		return dst, after, nil
	}
	last, err := o.scan(after, skip, func(k Key, v []byte) (bool, error) {
		m := Message{Key: k}
		if err := decodeValue(&m, v); err != nil {
			return false, err
		}
		dst = append(dst, m)
		return len(dst) < max, nil
	})
	return dst, last, err
}

// scan walks the stored records after the key after in key order, passing
// each one that skip (which may be nil) does not pass over to visit, until
// visit reports false or fails. It returns the last key examined, which
// equals after when nothing was left. It runs in one read transaction; v is
// only valid during visit.
func (o *Outbox) scan(after Key, skip func(Key) bool, visit func(k Key, v []byte) (bool, error)) (Key, error) {
	last := after
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		k, v := c.Seek(after[:])
		if k != nil && bytes.Equal(k, after[:]) {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if len(k) != len(Key{}) {
				return fmt.Errorf("%w: key %x has length %d", ErrCorrupt, k, len(k))
			}
			copy(last[:], k)
			if skip != nil && skip(last) {
				continue
			}
			if more, err := visit(last, v); err != nil || !more {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return last, fmt.Errorf("outbox: next: %w", err)
	}
	return last, nil
}

// Batch is a reusable read buffer for NextBatch. Msgs holds the messages of
// the last call; their payloads live in the batch's own memory, and topic
// and stream strings that repeat are shared, so that draining records on a
// few topics allocates nothing per record. The zero Batch is ready to use;
// a Batch is not safe for concurrent use.
type Batch struct {
	Msgs  []Message
	arena []byte
	names map[string]string
}

// maxNames bounds the strings a Batch shares; the set starts over when full.
const maxNames = 256

// NextBatch is Next for a reader that is done with the messages before it
// reads again: it replaces b.Msgs with up to max messages after the key
// after, and stops early once their payloads reach maxBytes (after at least
// one message; maxBytes <= 0 means no limit). The payloads stay valid only
// until the next NextBatch with b. Order, skip and the returned Key are as
// for Next.
func (o *Outbox) NextBatch(after Key, max, maxBytes int, b *Batch, skip func(Key) bool) (Key, error) {
	b.Msgs = b.Msgs[:0]
	b.arena = b.arena[:0]
	if b.names == nil || len(b.names) > maxNames {
		b.names = make(map[string]string, 16)
	}
	if max <= 0 {
		return after, nil
	}
	return o.scan(after, skip, func(k Key, v []byte) (bool, error) {
		b.Msgs = append(b.Msgs, Message{Key: k})
		if err := b.decode(&b.Msgs[len(b.Msgs)-1], v); err != nil {
			b.Msgs = b.Msgs[:len(b.Msgs)-1]
			return false, err
		}
		return len(b.Msgs) < max && (maxBytes <= 0 || len(b.arena) < maxBytes), nil
	})
}

// decode is decodeValue with the payload copied into the arena and the
// strings shared.
func (b *Batch) decode(m *Message, v []byte) error {
	sv, err := parseValue(m.Key, v)
	if err != nil {
		return err
	}
	m.QoS, m.Created, m.Seq = sv.qos, sv.created, sv.seq
	m.Stream, m.Topic = b.name(sv.stream), b.name(sv.topic)
	start := len(b.arena)
	b.arena = append(b.arena, sv.payload...)
	m.Payload = b.arena[start:len(b.arena):len(b.arena)]
	return nil
}

// name returns s as a string, shared with earlier equal ones.
func (b *Batch) name(s []byte) string {
	if n, ok := b.names[string(s)]; ok {
		return n
	}
	n := string(s)
	b.names[n] = n
	return n
}

// Stats is a snapshot of the outbox counters since Open, for metrics.
type Stats struct {
	// Appends is the number of records committed.
	Appends uint64
	// Acks is the number of records deleted by Ack.
	Acks uint64
	// Commits is the number of group commits that succeeded.
	Commits uint64
	// CommitErrors is the number of group commits that failed.
	CommitErrors uint64
	// MaxBatch is the largest number of records committed in one group.
	MaxBatch int
	// CommitTime is the total time spent in bbolt Update, fsync included.
	CommitTime time.Duration
	// Depth is the number of records stored now.
	Depth int
	// Bytes is the size of the store file now.
	Bytes int64
	// MaxBytes is the disk budget (0: none).
	MaxBytes int64
	// UsedBytes is the space in the file that holds data now.
	UsedBytes int64
	// Drops counts records dropped since Open by stream and reason
	// (DropBudget, DropFull).
	Drops map[string]map[string]uint64
	// AppendRate is the bytes stored per second over the last minute.
	AppendRate float64
	// Runway is how long the store could keep buffering at AppendRate
	// with nothing delivered before the budget forces drops; RunwayKnown
	// is false without a budget or without appends in the last minute.
	Runway      time.Duration
	RunwayKnown bool
}

// MeanBatch returns the average number of records per commit.
func (s Stats) MeanBatch() float64 {
	if s.Commits == 0 {
		return 0
	}
	return float64(s.Appends) / float64(s.Commits)
}

type statCounters struct {
	appends, acks, commits, errors atomic.Uint64
	commitNanos                    atomic.Int64
	maxBatch                       atomic.Int64

	dropLog atomic.Int64 // unix second of the last drop log line

	logMu  sync.Mutex
	failed bool
}

func (s *statCounters) record(appended, deleted int, d time.Duration, err error) {
	s.commitNanos.Add(int64(d))
	if err != nil {
		s.errors.Add(1)
		return
	}
	s.commits.Add(1)
	s.appends.Add(uint64(appended))
	s.acks.Add(uint64(deleted))
	for {
		m := s.maxBatch.Load()
		if int64(appended) <= m || s.maxBatch.CompareAndSwap(m, int64(appended)) {
			return
		}
	}
}

// Stats returns the current counters.
func (o *Outbox) Stats() Stats {
	st := Stats{
		Appends:      o.stats.appends.Load(),
		Acks:         o.stats.acks.Load(),
		Commits:      o.stats.commits.Load(),
		CommitErrors: o.stats.errors.Load(),
		MaxBatch:     int(o.stats.maxBatch.Load()),
		CommitTime:   time.Duration(o.stats.commitNanos.Load()),
		Depth:        o.Depth(),
		Bytes:        o.Bytes(),
		MaxBytes:     o.opts.MaxBytes,
		UsedBytes:    o.budget.used(),
		Drops:        o.drops.totals(),
		AppendRate:   o.rate.perSecond(time.Now()),
	}
	st.Runway, st.RunwayKnown = o.Runway()
	return st
}

// Runway returns how long the store can keep buffering at the append rate
// of the last minute, with nothing delivered, before the disk budget forces
// drops. ok is false without a budget or without recent appends.
func (o *Outbox) Runway() (d time.Duration, ok bool) {
	rate := o.rate.perSecond(time.Now())
	if !o.budget.enabled() || rate <= 0 {
		return 0, false
	}
	left := o.budget.room() - o.budget.reserve - cowPages*o.budget.pageSize
	if left <= 0 {
		return 0, true
	}
	return time.Duration(float64(left) / rate * float64(time.Second)), true
}

// logCommitError logs when commits start failing and when they recover,
// not once per failed group.
func (o *Outbox) logCommitError(err error) {
	o.stats.logMu.Lock()
	defer o.stats.logMu.Unlock()
	switch {
	case err != nil && !o.stats.failed:
		o.stats.failed = true
		o.log.Error("commits failing; appends are not durable", "path", o.path, "err", err)
	case err == nil && o.stats.failed:
		o.stats.failed = false
		o.log.Info("commits recovered", "path", o.path)
	}
}
