package uplink

import (
	"sync"

	"github.com/lineside/lineside/sync/outbox"
)

// heldSet holds the keys the uplink must not read again: records in flight
// on the current connection and records whose PUBACK arrived but whose
// deletion has not committed yet.
type heldSet struct {
	mu   sync.Mutex
	keys map[outbox.Key]struct{}
}

func (h *heldSet) add(k outbox.Key) {
	h.mu.Lock()
	h.keys[k] = struct{}{}
	h.mu.Unlock()
}

func (h *heldSet) remove(keys ...outbox.Key) {
	h.mu.Lock()
	for _, k := range keys {
		delete(h.keys, k)
	}
	h.mu.Unlock()
}

func (h *heldSet) contains(k outbox.Key) bool {
	h.mu.Lock()
	_, ok := h.keys[k]
	h.mu.Unlock()
	return ok
}

func (h *heldSet) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.keys)
}

// ackQueue carries acknowledged keys to the ack loop and, once their
// deletion has been tried, back to the drain loop. push never blocks, so the
// drain loop keeps reading token results while a deletion commits.
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

func (q *ackQueue) push(k outbox.Key) {
	q.mu.Lock()
	q.keys = append(q.keys, k)
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
