package mqttin

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
)

// Run connects, subscribes every topic filter and emits samples until ctx
// ends, reconnecting with backoff; it returns nil.
func (s *Source) Run(ctx context.Context, emit sensors.Emit) error {
	defer s.t.Stopped()
	var bo srcutil.Backoff
	for ctx.Err() == nil {
		lost := make(chan error, 1)
		c, err := s.connect(emit, lost)
		if err == nil {
			s.t.Connected()
			bo.Reset()
			select {
			case <-ctx.Done():
				c.Disconnect(100)
				return nil
			case err = <-lost:
			}
			c.Disconnect(0)
		}
		s.t.Lost(err)
		if !srcutil.Sleep(ctx, bo.Next()) {
			return nil
		}
	}
	return nil
}

// connect makes one connection and subscribes every filter on it.
func (s *Source) connect(emit sensors.Emit, lost chan<- error) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().
		AddBroker(s.broker).
		SetClientID(s.clientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(s.timeout).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- fmt.Errorf("connection lost: %w", err):
			default:
			}
		})
	if s.user != "" {
		o.SetUsername(s.user).SetPassword(s.password)
	}
	if s.tls != nil {
		o.SetTLSConfig(s.tls)
	}
	c := mqtt.NewClient(o)
	if err := wait(c.Connect(), s.timeout); err != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("connect %s: %w", s.broker, err)
	}
	for filter, points := range s.filters {
		h := func(_ mqtt.Client, m mqtt.Message) { s.handle(emit, points, m) }
		if err := wait(c.Subscribe(filter, s.qos, h), s.timeout); err != nil {
			c.Disconnect(0)
			return nil, fmt.Errorf("subscribe %q (qos %s): %w", filter, s.qosString(), err)
		}
	}
	return c, nil
}

var errTimeout = errors.New("timed out")

func wait(tok mqtt.Token, d time.Duration) error {
	if !tok.WaitTimeout(d) {
		return errTimeout
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for topic, code := range st.Result() {
			if code >= 0x80 {
				return fmt.Errorf("broker refused subscription to %q", topic)
			}
		}
	}
	return tok.Error()
}

// handle decodes one message for every point on its topic filter.
func (s *Source) handle(emit sensors.Emit, points []*point, m mqtt.Message) {
	now := time.Now()
	payload := m.Payload()
	var doc any
	var docErr error
	for _, p := range points {
		if len(p.field) > 0 || p.time != nil {
			if doc == nil && docErr == nil {
				doc, docErr = Decode(payload)
			}
			if docErr != nil {
				s.t.Bad(emit, p.name, now, fmt.Errorf("point %q topic %q: %w", p.name, m.Topic(), docErr))
				continue
			}
		}
		ts, v, err := p.extract(doc, payload, now)
		if err != nil {
			s.t.Bad(emit, p.name, now, fmt.Errorf("point %q topic %q: %w", p.name, m.Topic(), err))
			continue
		}
		s.t.Good(emit, p.name, ts, v)
	}
}

// extract reads the point's value and time from a decoded document, or
// from the raw payload when the point has no field.
func (p *point) extract(doc any, payload []byte, now time.Time) (time.Time, float64, error) {
	ts := now
	if p.time != nil {
		tv, err := p.time.Lookup(doc)
		if err != nil {
			return ts, 0, err
		}
		if ts, err = Timestamp(tv); err != nil {
			return now, 0, err
		}
		if p.maxAge > 0 && now.Sub(ts) > p.maxAge {
			return ts, 0, fmt.Errorf("%w: measured %s, %v ago (max_age %v)", sensors.ErrStale,
				ts.Format(time.RFC3339Nano), now.Sub(ts).Round(time.Millisecond), p.maxAge)
		}
	}
	var raw any
	if len(p.field) == 0 && p.time == nil {
		raw = string(payload)
	} else {
		var err error
		if raw, err = p.field.Lookup(doc); err != nil {
			return ts, 0, err
		}
	}
	x, err := Number(raw)
	if err != nil {
		return ts, 0, err
	}
	v, err := p.scale.Apply(x)
	return ts, v, err
}
