package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lineside/lineside/sync/outbox"
)

// drain publishes records on c's data connection until either connection is
// lost or fails (it returns the reason) or ctx ends (it shuts the
// connection down and returns nil).
//
// Each round takes the acknowledgements the reader handed over, reads as
// many records as the window (and the rate limit) allows, encodes them into
// the write buffer and flushes once. One timer covers the oldest record's
// deadline and the keep-alive.
func (u *Uplink) drain(ctx context.Context, c *connection) error {
	d := c.data
	window := min(u.cfg.Window, len(d.slots)-1)
	// On any exit, records still in flight go back to the store's pool; an
	// acknowledgement arriving later on this connection is never read.
	defer func() { u.held.remove(d.abandon()...) }()

	var (
		events []uint32
		done   []outbox.Key
		// batch holds records read ahead of the window; next is the first
		// one not published yet. Reading a few hundred at a time keeps the
		// cost of a read transaction off the single record.
		batch outbox.Batch
		next  int
		// from is where the next read starts: right after the last record
		// read, so a long backlog is walked once, not once per publish. New
		// commits may hold records of a higher tier (smaller keys) and a
		// failed deletion gives records back, so both restart the walk from
		// the beginning, passing over the records held, and drop what was
		// read ahead.
		from        outbox.Key
		walked      bool // the walk reached the end of the store
		readFailing bool
		tooLarge    []outbox.Key // held for this connection, never published
	)
	readAhead := min(max(4*window, 256), 4096)
	defer func() { u.held.remove(tooLarge...) }()
	lim := newLimiter(u.cfg.RateLimit, window)
	var tick *time.Timer // armed while the rate limit holds records back
	wake := time.NewTimer(time.Hour)
	var wakeAt time.Time // when wake fires; zero when it is not armed
	defer func() {
		wake.Stop()
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		u.held.remove(u.acks.takeReleased()...)
		now := time.Now()
		var lost error
		events, lost = d.take(events)
		var err error
		if done, err = u.settle(d, events, now, done[:0]); err != nil {
			return err
		}
		if lost != nil {
			return fmt.Errorf("data connection lost: %w", lost)
		}

		var tickC <-chan time.Time
		for pending := d.inFlight + len(d.qos0); pending < window && d.free(); pending = d.inFlight + len(d.qos0) {
			if next == len(batch.Msgs) {
				if walked {
					break
				}
				last, err := u.ob.NextBatch(from, readAhead, readAheadBytes, &batch, u.held.contains)
				next = 0
				if err != nil {
					batch.Msgs = batch.Msgs[:0]
					u.setErr(err)
					if !readFailing {
						u.log.Error("reading the outbox failed", "err", err)
					}
					readFailing = true
					break
				}
				readFailing = false
				from = last
				// A short read without the byte limit reached the end of
				// the store; only a commit or a failed deletion (both
				// restart the walk) can add records behind it.
				walked = len(batch.Msgs) < readAhead && batchBytes(batch.Msgs) < readAheadBytes
				if len(batch.Msgs) == 0 {
					break
				}
			}
			n, wait := lim.take(now, min(window-pending, len(batch.Msgs)-next))
			if n == 0 {
				u.rateLimited.Add(1)
				tick = resetTimer(tick, wait)
				tickC = tick.C
				break
			}
			taken, sent := 0, 0
			for ; taken < n && d.free(); taken++ {
				m := &batch.Msgs[next]
				next++
				u.held.add(m.Key)
				if err := d.publish(m, now); err != nil {
					u.failed.Add(1)
					if !errors.Is(err, errTooLarge) {
						u.held.remove(m.Key)
						return fmt.Errorf("data connection: %w", err)
					}
					tooLarge = append(tooLarge, m.Key)
					u.log.Error("record too large for MQTT; it stays stored", "key", m.Key, "topic_bytes", len(m.Topic), "payload_bytes", len(m.Payload))
					continue
				}
				sent++
			}
			u.published.Add(uint64(sent))
			lim.giveBack(n - taken)
		}
		d.keepalive(now)
		sent, err := d.flush(now)
		if err != nil {
			u.failed.Add(1)
			return fmt.Errorf("data connection: %w", err)
		}
		u.acks.push(sent...)
		if err := d.overdue(now); err != nil {
			u.failed.Add(1)
			return err
		}
		if at := d.wakeAt(); wakeAt.IsZero() || at.Before(wakeAt) {
			wake.Reset(at.Sub(now))
			wakeAt = at
		}

		select {
		case <-ctx.Done():
			u.finish(c)
			return nil
		case err := <-c.lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-d.kick:
		case <-u.ob.Notify():
			from, next, walked = outbox.Key{}, len(batch.Msgs), false
		case <-u.wake:
			if u.ackFailed.Swap(false) { // those records are behind the walk
				from, next, walked = outbox.Key{}, len(batch.Msgs), false
			}
		case <-tickC:
		case <-wake.C:
			wakeAt = time.Time{}
		}
	}
}

// settle applies the reader's events: completed records go to the ack loop
// (appended to done, which it returns), PUBRECs are answered. An
// acknowledgement that matches nothing in flight ends the connection.
func (u *Uplink) settle(d *dataConn, events []uint32, now time.Time, done []outbox.Key) ([]outbox.Key, error) {
	for _, ev := range events {
		k, ok, err := d.settle(ev, now)
		if err != nil {
			u.acks.push(done...)
			return done, fmt.Errorf("data connection: %w", err)
		}
		if ok {
			done = append(done, k)
		}
	}
	u.acks.push(done...)
	return done, nil
}

// finish is the shutdown path: no new records, wait up to DrainTimeout for
// the acknowledgements of those in flight, then DISCONNECT on the data
// connection and the offline status and DISCONNECT on the control one.
func (u *Uplink) finish(c *connection) {
	d := c.data
	timer := time.NewTimer(u.cfg.DrainTimeout)
	defer timer.Stop()
	var events []uint32
	var done []outbox.Key
	for d.inFlight > 0 {
		select {
		case <-d.kick:
			now := time.Now()
			var lost, err error
			events, lost = d.take(events)
			if done, err = u.settle(d, events, now, done[:0]); err == nil && lost == nil {
				_, err = d.flush(now) // PUBRELs
			}
			if err = errors.Join(err, lost); err != nil {
				u.log.Warn("data connection failed during shutdown; records stay stored", "in_flight", d.inFlight, "err", err)
				d.close()
				u.close(c)
				return
			}
		case <-c.lost:
			u.log.Warn("connection lost during shutdown", "in_flight", d.inFlight)
			d.close()
			return
		case <-timer.C:
			u.log.Warn("shutdown before all acknowledgements arrived; records stay stored", "in_flight", d.inFlight)
			u.close(c)
			return
		}
	}
	u.close(c)
}

// readAheadBytes bounds the payload bytes read ahead of the window.
const readAheadBytes = 1 << 20

func batchBytes(msgs []outbox.Message) int {
	n := 0
	for i := range msgs {
		n += len(msgs[i].Payload)
	}
	return n
}

// resetTimer returns t (created if nil) set to fire after d.
func resetTimer(t *time.Timer, d time.Duration) *time.Timer {
	if t == nil {
		return time.NewTimer(d)
	}
	t.Reset(d)
	return t
}
