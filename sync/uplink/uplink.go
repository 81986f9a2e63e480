package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/sync/outbox"
)

// Uplink drains an outbox to an MQTT broker. Create it with New, then call
// Run once; Publish, Connected and Stats are safe to call from any goroutine
// at any time, before, during and after Run.
type Uplink struct {
	cfg  Config
	ob   *outbox.Outbox
	log  *slog.Logger
	held heldSet
	acks ackQueue
	wake chan struct{} // records became publishable again

	mu      sync.Mutex
	conn    *connection // nil while offline
	lastErr string
	subs    []subscription

	gen                                  atomic.Uint64
	published, acked, failed, reconnects atomic.Uint64
	rateLimited                          atomic.Uint64
	ackFailed                            atomic.Bool // a deletion failed; its records are readable again
}

// New returns an Uplink for ob. It does not connect; Run does.
func New(cfg Config, ob *outbox.Outbox, log *slog.Logger) *Uplink {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Uplink{
		cfg:  cfg,
		ob:   ob,
		log:  log.With("component", "uplink"),
		held: heldSet{keys: map[outbox.Key]struct{}{}},
		acks: ackQueue{kick: make(chan struct{}, 1)},
		wake: make(chan struct{}, 1),
	}
}

// Run connects, publishes the birth message and drains the outbox until ctx
// ends, reconnecting with backoff whenever the connection is lost. On ctx
// end it stops taking records, waits up to DrainTimeout for in-flight
// PUBACKs, publishes the offline status and disconnects. It returns nil
// after a clean stop; call it at most once.
func (u *Uplink) Run(ctx context.Context) error {
	ackStop, ackDone := make(chan struct{}), make(chan struct{})
	go u.ackLoop(ackStop, ackDone)
	defer func() { close(ackStop); <-ackDone }()

	backoff := u.cfg.BackoffMin
	failing := false
	for connects := 0; ctx.Err() == nil; {
		c, err := u.connect(ctx)
		if err != nil {
			u.setErr(err)
			if !failing && ctx.Err() == nil {
				u.log.Warn("broker unreachable; retrying with backoff", "broker", u.cfg.Broker, "err", err)
			}
			failing = true
		} else {
			if connects++; connects > 1 {
				u.reconnects.Add(1)
			}
			failing = false
			backoff = u.cfg.BackoffMin
			u.log.Info("connected", "broker", u.cfg.Broker, "client_id", u.cfg.ClientID, "data_client_id", u.cfg.ClientID+DataClientSuffix, "clean_session", u.cfg.CleanSession, "generation", c.gen, "backlog", u.ob.Depth())
			err = u.drain(ctx, c)
			u.setConn(nil)
			if err == nil { // clean shutdown: offline status sent, disconnected
				return nil
			}
			c.abort()
			if ctx.Err() != nil {
				return nil
			}
			u.setErr(err)
			u.log.Warn("connection ended; records in flight will be published again", "err", err)
		}
		if !sleepCtx(ctx, jitter(backoff)) {
			break
		}
		backoff = min(2*backoff, u.cfg.BackoffMax)
	}
	return nil
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Publish sends one message outside the outbox (retained status, metrics)
// on the control connection and waits for its token, at most
// PublishTimeout. It fails fast with ErrNotConnected while offline.
func (u *Uplink) Publish(topic string, qos byte, retain bool, payload []byte) error {
	u.mu.Lock()
	c := u.conn
	u.mu.Unlock()
	if c == nil || !c.client.IsConnectionOpen() {
		return fmt.Errorf("uplink: publish %s: %w", topic, ErrNotConnected)
	}
	if err := c.publishWait(topic, qos, retain, payload, u.cfg.PublishTimeout); err != nil {
		if errors.Is(err, mqtt.ErrNotConnected) {
			err = ErrNotConnected
		}
		return fmt.Errorf("uplink: publish %s: %w", topic, err)
	}
	return nil
}

// Connected reports whether both connections to the broker are up.
func (u *Uplink) Connected() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conn != nil && u.conn.client.IsConnectionOpen() && u.conn.data.alive()
}

// Stats returns the current counters.
func (u *Uplink) Stats() Stats {
	u.mu.Lock()
	lastErr := u.lastErr
	u.mu.Unlock()
	return Stats{
		Connected:   u.Connected(),
		Published:   u.published.Load(),
		Acked:       u.acked.Load(),
		Failed:      u.failed.Load(),
		Reconnects:  u.reconnects.Load(),
		InFlight:    u.held.len(),
		RateLimited: u.rateLimited.Load(),
		LastError:   lastErr,
	}
}

func (u *Uplink) setConn(c *connection) {
	u.mu.Lock()
	u.conn = c
	u.mu.Unlock()
}

func (u *Uplink) setErr(err error) {
	if err == nil {
		return
	}
	u.mu.Lock()
	u.lastErr = err.Error()
	u.mu.Unlock()
}

// poke wakes the drain loop without blocking.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
