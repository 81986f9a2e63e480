package outbox

import (
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// budget keeps the store file within Options.MaxBytes.
//
// bbolt's file is its high-water mark of pages plus one growth step
// (AllocSize), and it never shrinks; freed pages are reused. So the budget
// is kept on the high-water mark: limit = MaxBytes - AllocSize - 2 pages.
// Before each commit the writer estimates the room the group needs and, if
// the room left after it (unused pages below the limit plus free pages)
// would fall under the reserve, drops the oldest records of the lowest tier
// in the same transaction. Pages freed by a commit are reused by the next
// one, so the reserve keeps room for at least two full groups and the
// copy-on-write pages of a commit; groups are capped at groupBytes.
type budget struct {
	maxBytes   int64
	limit      int64
	reserve    int64
	allocSize  int
	groupBytes int
	pageSize   int64

	hwm  atomic.Int64 // high-water mark after the last commit, bytes
	free atomic.Int64 // free and pending pages after the last commit, bytes
}

// cowPages approximates the pages a commit rewrites besides its records:
// the leaf and branch path of each tier touched and of the deleted head.
const cowPages = 24

// init sizes the budget for maxBytes (0: no budget).
func (b *budget) init(maxBytes int64) {
	b.maxBytes, b.groupBytes, b.pageSize = maxBytes, 4<<20, int64(os.Getpagesize())
	if maxBytes == 0 {
		return
	}
	b.allocSize = int(min(16<<20, max(64<<10, maxBytes/32)))
	b.limit = maxBytes - int64(b.allocSize) - 2*b.pageSize
	b.groupBytes = int(min(4<<20, max(32<<10, b.limit/64)))
	b.reserve = max(2*int64(b.groupBytes)+2*cowPages*b.pageSize, b.limit/32)
}

func (b *budget) enabled() bool { return b.maxBytes > 0 }

// observe reads the high-water mark and the free pages after a commit.
func (b *budget) observe(db *bolt.DB) {
	_ = db.View(func(tx *bolt.Tx) error {
		b.hwm.Store(tx.Size())
		return nil
	})
	st := db.Stats()
	b.free.Store(int64(st.FreePageN+st.PendingPageN) * int64(db.Info().PageSize))
}

// room is the space left for records without growing past the limit.
func (b *budget) room() int64 { return b.limit - b.hwm.Load() + b.free.Load() }

// used is the space below the high-water mark that holds data.
func (b *budget) used() int64 { return b.hwm.Load() - b.free.Load() }

// shortfall returns how many bytes must be freed in a commit that adds
// need bytes so that the reserve stays free after it.
func (b *budget) shortfall(need int64) int64 {
	if !b.enabled() {
		return 0
	}
	return need + cowPages*b.pageSize + b.reserve - b.room()
}

// footprint estimates the bytes a key/value pair takes in the file: values
// that do not fit a page go to overflow pages of their own.
func (b *budget) footprint(klen, vlen int) int64 {
	n := int64(klen + vlen + elementSize)
	if n > b.pageSize/2 {
		n = (n+pageHeaderSize+b.pageSize-1)/b.pageSize*b.pageSize + b.pageSize/2
	}
	return n
}

// makeRoom frees short bytes in tx: for each tier from the lowest up, first
// its stored records oldest first, then the batch's new records of that
// tier (which are rejected with ErrFull). It returns the drops.
func (o *Outbox) makeRoom(recs *bolt.Bucket, batch []*request, short int64) ([]dropEvent, error) {
	var ev []dropEvent
	var doomed [][]byte
	for t := numPriorities - 1; t >= 0 && short > 0; t-- {
		c := recs.Cursor()
		for k, v := c.Seek([]byte{byte(t)}); k != nil && k[0] == byte(t) && short > 0; k, v = c.Next() {
			stream, seq := peekValue(v)
			ev = append(ev, dropEvent{stream: stream, reason: DropBudget, seq: seq})
			doomed = append(doomed, k)
			short -= o.budget.footprint(len(k), len(v))
		}
		for _, r := range batch {
			if short <= 0 {
				break
			}
			if r.keys == nil && r.err == nil && int(r.rec.Priority) == t {
				r.err = ErrFull
				ev = append(ev, dropEvent{stream: r.rec.Stream, reason: DropFull})
				short -= o.budget.footprint(len(Key{}), recordSize(r, len(o.opts.Device)))
			}
		}
	}
	for _, k := range doomed {
		if err := recs.Delete(k); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// peekValue reads stream and seq from a stored value without copying the
// payload; a damaged value gives ("unknown", 0).
func peekValue(v []byte) (string, uint64) {
	if len(v) < valueFixed || (v[0] != valueVersion && v[0] != valueVersion1) || len(v) < valueFixed+int(v[18]) {
		return "unknown", 0
	}
	return string(v[19 : 19+int(v[18])]), binary.BigEndian.Uint64(v[10:18])
}

// rateMeter measures the bytes appended per second over the last minute, in
// one-second buckets.
type rateMeter struct {
	mu      sync.Mutex
	buckets [60]int64
	at      int64 // unix second of the newest bucket
	started time.Time
}

func (m *rateMeter) add(now time.Time, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(now)
	m.buckets[m.at%60] += n
}

// advance clears the buckets of seconds that passed without appends.
func (m *rateMeter) advance(now time.Time) {
	if m.started.IsZero() {
		m.started, m.at = now, now.Unix()
	}
	sec := now.Unix()
	for s := m.at + 1; s <= sec && s <= m.at+60; s++ {
		m.buckets[s%60] = 0
	}
	if sec > m.at {
		m.at = sec
	}
}

// perSecond returns the mean rate over the last minute, or over the time
// since the first append when that is shorter.
func (m *rateMeter) perSecond(now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started.IsZero() {
		return 0
	}
	m.advance(now)
	var sum int64
	for _, b := range m.buckets {
		sum += b
	}
	window := min(60, now.Sub(m.started).Seconds())
	return float64(sum) / max(window, 1)
}
