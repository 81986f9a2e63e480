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
	last := after
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		k, v := c.Seek(after[:])
		if k != nil && bytes.Equal(k, after[:]) {
			k, v = c.Next()
		}
		for ; k != nil && len(dst) < max; k, v = c.Next() {
			if len(k) != len(Key{}) {
				return fmt.Errorf("%w: key %x has length %d", ErrCorrupt, k, len(k))
			}
			copy(last[:], k)
			if skip != nil && skip(last) {
				continue
			}
			m := Message{Key: last}
			if err := decodeValue(&m, v); err != nil {
				return err
			}
			dst = append(dst, m)
		}
		return nil
	})
	if err != nil {
		return dst, last, fmt.Errorf("outbox: next: %w", err)
	}
	return dst, last, nil
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
	return Stats{
		Appends:      o.stats.appends.Load(),
		Acks:         o.stats.acks.Load(),
		Commits:      o.stats.commits.Load(),
		CommitErrors: o.stats.errors.Load(),
		MaxBatch:     int(o.stats.maxBatch.Load()),
		CommitTime:   time.Duration(o.stats.commitNanos.Load()),
		Depth:        o.Depth(),
		Bytes:        o.Bytes(),
	}
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
