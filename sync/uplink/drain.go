package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/sync/outbox"
)

// flight is one outbox record handed to paho, tagged with the connection
// generation that sent it.
type flight struct {
	key      outbox.Key
	gen      uint64
	tok      mqtt.Token
	deadline time.Time
}

// result is a flight's outcome.
type result struct {
	key outbox.Key
	gen uint64
	err error
}

// errStalled is returned by drain when a publish failed or timed out on a
// connection paho still considers open.
var errStalled = errors.New("publish failed on an open connection")

// drain publishes records on c until the connection is lost (it returns the
// reason) or ctx ends (it shuts the connection down and returns nil).
//
// Tokens are awaited by one goroutine in send order; PUBACKs arrive in that
// order on a single connection, so head-of-line waiting costs nothing, and
// the results channel has room for the whole window so the waiter never
// blocks on this loop.
func (u *Uplink) drain(ctx context.Context, c *connection) error {
	window := u.cfg.Window
	queue := make(chan flight, window)
	results := make(chan result, window)
	go waiter(queue, results)
	defer close(queue)

	inflight := make(map[outbox.Key]struct{}, window)
	// On any exit, records still in flight go back to the store's pool; a
	// completion from this generation arriving later is never read.
	defer func() {
		for k := range inflight {
			u.held.remove(k)
		}
	}()
	handle := func(r result) error {
		if r.gen != c.gen {
			return nil
		}
		delete(inflight, r.key)
		if r.err != nil {
			u.failed.Add(1)
			u.held.remove(r.key)
			return fmt.Errorf("publish %s: %w", r.key, r.err)
		}
		u.acks.push(r.key)
		return nil
	}

	var buf []outbox.Message
	// from is where the next read starts: right after the last record
	// handed out, so a long backlog is walked once, not once per publish.
	// New commits may hold records of a higher tier (smaller keys) and a
	// failed deletion gives records back, so both restart the walk from the
	// beginning, passing over the records in flight.
	var from outbox.Key
	readFailing := false
	lim := newLimiter(u.cfg.RateLimit, window)
	var tick *time.Timer // armed while the rate limit holds records back
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		u.held.remove(u.acks.takeReleased()...)
		var tickC <-chan time.Time
		for len(inflight) < window {
			n, wait := lim.take(time.Now(), window-len(inflight))
			if n == 0 {
				if u.ob.Depth() > len(inflight) {
					u.rateLimited.Add(1)
					tick = resetTimer(tick, wait)
					tickC = tick.C
				}
				break
			}
			msgs, last, err := u.ob.Next(from, n, buf, u.held.contains)
			if err != nil {
				u.setErr(err)
				if !readFailing {
					u.log.Error("reading the outbox failed", "err", err)
				}
				readFailing = true
				break
			}
			readFailing = false
			from = last
			lim.giveBack(n - len(msgs))
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				u.held.add(m.Key)
				inflight[m.Key] = struct{}{}
				tok := c.client.Publish(m.Topic, m.QoS, false, m.Payload)
				queue <- flight{key: m.Key, gen: c.gen, tok: tok, deadline: time.Now().Add(u.cfg.PublishTimeout)}
				u.published.Add(1)
			}
			buf = msgs
		}
		select {
		case <-ctx.Done():
			u.finish(c, inflight, results, handle)
			return nil
		case err := <-c.lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-u.ob.Notify():
			from = outbox.Key{}
		case <-u.wake:
			if u.ackFailed.Swap(false) { // those records are behind the walk
				from = outbox.Key{}
			}
		case <-tickC:
		case r := <-results:
			if err := handle(r); err != nil {
				return u.classify(c, err)
			}
		}
	}
}

// classify turns a failed publish into the reason the connection ends: the
// loss paho reported if there is one, otherwise a stall.
func (u *Uplink) classify(c *connection, err error) error {
	select {
	case lost := <-c.lost:
		return fmt.Errorf("connection lost: %w", lost)
	case <-time.After(100 * time.Millisecond):
		return fmt.Errorf("%w: %w", errStalled, err)
	}
}

// finish is the shutdown path: no new records, wait up to DrainTimeout for
// the PUBACKs of those in flight, then the offline status and DISCONNECT.
func (u *Uplink) finish(c *connection, inflight map[outbox.Key]struct{}, results <-chan result, handle func(result) error) {
	timer := time.NewTimer(u.cfg.DrainTimeout)
	defer timer.Stop()
	for len(inflight) > 0 {
		select {
		case r := <-results:
			_ = handle(r)
		case <-c.lost:
			u.log.Warn("connection lost during shutdown", "in_flight", len(inflight))
			return
		case <-timer.C:
			u.log.Warn("shutdown before all acknowledgements arrived; records stay stored", "in_flight", len(inflight))
			u.close(c)
			return
		}
	}
	u.close(c)
}

// waiter reports each flight's outcome, in send order, until queue closes.
// A token that neither completes nor fails by its deadline is reported as
// ErrTimeout, so nothing waits on paho forever.
func waiter(queue <-chan flight, results chan<- result) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for f := range queue {
		var err error
		timer.Reset(time.Until(f.deadline))
		select {
		case <-f.tok.Done():
			err = f.tok.Error()
		case <-timer.C:
			err = ErrTimeout
		}
		timer.Stop()
		results <- result{key: f.key, gen: f.gen, err: err}
	}
}

// resetTimer returns t (created if nil) set to fire after d.
func resetTimer(t *time.Timer, d time.Duration) *time.Timer {
	if t == nil {
		return time.NewTimer(d)
	}
	t.Reset(d)
	return t
}
