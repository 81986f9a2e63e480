package uplink

import (
	"sync"
	"sync/atomic"

	"github.com/lineside/lineside/sync/outbox"
)

// heldSet holds the keys the uplink must not read again: records in flight
// on the current connection and records whose acknowledgement arrived but
// whose deletion has not committed yet. Only Run's goroutine (the drain
// loop and the outbox walk it runs) uses the set, so it needs no lock; len
// is atomic for Stats.
type heldSet struct {
	keys map[outbox.Key]struct{}
	n    atomic.Int64
}

func (h *heldSet) add(k outbox.Key) {
	if _, ok := h.keys[k]; !ok {
		h.keys[k] = struct{}{}
		h.n.Add(1)
	}
}

func (h *heldSet) remove(keys ...outbox.Key) {
	for _, k := range keys {
		if _, ok := h.keys[k]; ok {
			delete(h.keys, k)
			h.n.Add(-1)
		}
	}
}

func (h *heldSet) contains(k outbox.Key) bool {
	_, ok := h.keys[k]
	return ok
}

// len may be called from any goroutine.
func (h *heldSet) len() int { return int(h.n.Load()) }

// ackQueue carries acknowledged keys to the ack loop and, once their
// deletion has been tried, back to the drain loop. push never blocks, so the
// drain loop keeps taking acknowledgements while a deletion commits.
//
// Keys leave the held set only in the drain loop, right before it reads the
// store again: a read that began before the deletion committed could still
// see a record, so the skip must last until such a read cannot be running.
type ackQueue struct {
	mu       sync.Mutex
	keys     []outbox.Key
	released []outbox.Key
	kick     chan struct{}
}

// release hands keys whose deletion committed (or failed) back to the drain
// loop.
func (q *ackQueue) release(keys []outbox.Key) {
	q.mu.Lock()
	q.released = append(q.released, keys...)
	q.mu.Unlock()
}

// takeReleased returns the released keys; only the drain loop calls it.
func (q *ackQueue) takeReleased() []outbox.Key {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys := q.released
	q.released = nil
	return keys
}

func (q *ackQueue) push(keys ...outbox.Key) {
	if len(keys) == 0 {
		return
	}
	q.mu.Lock()
	q.keys = append(q.keys, keys...)
	q.mu.Unlock()
	poke(q.kick)
}

func (q *ackQueue) take() []outbox.Key {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys := q.keys
	q.keys = nil
	return keys
}

// ackLoop deletes acknowledged records in batches: whatever accumulated while
// the previous deletion committed goes into the next one. Afterwards the keys
// are released to the drain loop; a failed deletion means the records are
// published again. It flushes once more when stop closes.
func (u *Uplink) ackLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	failing := false
	flush := func() {
		keys := u.acks.take()
		if len(keys) == 0 {
			return
		}
		err := u.ob.Ack(keys...)
		switch {
		case err != nil && !failing:
			failing = true
			u.setErr(err)
			u.log.Error("deleting acknowledged records failed; they will be published again", "err", err)
		case err == nil && failing:
			failing = false
			u.log.Info("deleting acknowledged records works again")
		}
		if err == nil {
			u.acked.Add(uint64(len(keys)))
		} else {
			u.ackFailed.Store(true)
		}
		u.acks.release(keys)
		poke(u.wake)
	}
	for {
		select {
		case <-u.acks.kick:
			flush()
		case <-stop:
			flush()
			return
		}
	}
}
