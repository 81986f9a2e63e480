package uplink

import (
	"fmt"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Handler receives one message of a subscription. It runs on paho's
// delivery goroutine and must return quickly; topic and payload are the
// handler's to keep.
type Handler func(topic string, payload []byte)

// subscription is one filter made with Subscribe.
type subscription struct {
	filter  string
	qos     byte
	handler Handler
}

// Subscribe registers a subscription that is made on every connect, before
// records flow, and at once if a connection is up. Messages that a
// persistent session delivers before the SUBSCRIBE is renewed reach the
// handler too. Filters follow MQTT syntax ('+' and '#').
func (u *Uplink) Subscribe(filter string, qos byte, h Handler) error {
	if filter == "" || qos > 2 || h == nil {
		return fmt.Errorf("uplink: subscribe %q: filter, qos 0-2 and a handler are required", filter)
	}
	u.mu.Lock()
	u.subs = append(u.subs, subscription{filter: filter, qos: qos, handler: h})
	c := u.conn
	u.mu.Unlock()
	if c == nil {
		return nil
	}
	return u.subscribe(c, []subscription{{filter: filter, qos: qos}})
}

// resubscribe makes every registered subscription on a new connection.
func (u *Uplink) resubscribe(c *connection) error {
	u.mu.Lock()
	subs := append([]subscription(nil), u.subs...)
	u.mu.Unlock()
	if len(subs) == 0 {
		return nil
	}
	return u.subscribe(c, subs)
}

func (u *Uplink) subscribe(c *connection, subs []subscription) error {
	filters := make(map[string]byte, len(subs))
	for _, s := range subs {
		filters[s.filter] = s.qos
	}
	// No paho route: every message goes through dispatch, also those that
	// arrive before the route would exist.
	tok := c.client.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(u.cfg.PublishTimeout) {
		return fmt.Errorf("subscribe: %w", ErrTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for f, code := range st.Result() {
			if code == 0x80 {
				return fmt.Errorf("subscribe %s: refused by the broker", f)
			}
		}
	}
	u.log.Info("subscribed", "filters", len(filters), "generation", c.gen)
	return nil
}

// dispatch hands a message to every subscription whose filter matches.
func (u *Uplink) dispatch(_ mqtt.Client, m mqtt.Message) {
	u.mu.Lock()
	subs := u.subs
	u.mu.Unlock()
	for _, s := range subs {
		if matchTopic(s.filter, m.Topic()) {
			s.handler(m.Topic(), append([]byte(nil), m.Payload()...))
		}
	}
}

// matchTopic reports whether topic matches the MQTT filter.
func matchTopic(filter, topic string) bool {
	fs, ts := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fs {
		switch {
		case f == "#":
			return true
		case i >= len(ts):
			return false
		case f != "+" && f != ts[i]:
			return false
		}
	}
	return len(fs) == len(ts)
}

// limiter is a token bucket for RateLimit; nil means no limit.
type limiter struct {
	rate, burst, tokens float64
	last                time.Time
}

func newLimiter(rate float64, window int) *limiter {
	if rate <= 0 {
		return nil
	}
	burst := max(1, min(float64(window), rate/10))
	return &limiter{rate: rate, burst: burst, tokens: burst}
}

// giveBack returns n unused grants.
func (l *limiter) giveBack(n int) {
	if l != nil && n > 0 {
		l.tokens = min(l.burst, l.tokens+float64(n))
	}
}

// take grants up to n publishes now, and says how long until the next one
// when it grants none.
func (l *limiter) take(now time.Time, n int) (int, time.Duration) {
	if l == nil {
		return n, 0
	}
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	g := min(n, int(l.tokens))
	l.tokens -= float64(g)
	if g > 0 {
		return g, 0
	}
	return 0, time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
}
