package opcua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
)

// stateEvery is how often the connection state is checked between
// notifications.
const stateEvery = 200 * time.Millisecond

// aliveEvery is the least time between two reads of the server's clock
// that check the connection is alive.
const aliveEvery = 5 * time.Second

// errUntrusted is returned when the server's certificate is not the trusted one.
var errUntrusted = errors.New("server certificate is not the trusted server_cert")

// Run connects, subscribes to every point and emits samples until ctx
// ends, reconnecting with backoff after a lost connection; it returns nil.
func (s *Source) Run(ctx context.Context, emit sensors.Emit) error {
	defer s.t.Stopped()
	var bo srcutil.Backoff
	for ctx.Err() == nil {
		c, err := s.connect(ctx)
		if err == nil {
			err = s.serve(ctx, c, emit, &bo)
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.Close(cctx)
			cancel()
		}
		if ctx.Err() != nil {
			return nil
		}
		s.t.Lost(err)
		if !srcutil.Sleep(ctx, bo.Next()) {
			return nil
		}
	}
	return nil
}

// connect opens a secure channel and an anonymous session.
func (s *Source) connect(ctx context.Context) (*opcua.Client, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	opts := []opcua.Option{
		opcua.AutoReconnect(false),
		opcua.ApplicationName("lineside"),
		opcua.DialTimeout(s.timeout),
		opcua.RequestTimeout(s.timeout),
		opcua.AuthAnonymous(),
	}
	if s.security == SecurityNone {
		opts = append(opts, opcua.SecurityPolicy(ua.SecurityPolicyURINone), opcua.SecurityMode(ua.MessageSecurityModeNone))
	} else {
		eps, err := opcua.GetEndpoints(cctx, s.endpoint)
		if err != nil {
			return nil, fmt.Errorf("get endpoints of %s: %w", s.endpoint, err)
		}
		ep, err := opcua.SelectEndpoint(eps, ua.SecurityPolicyURIBasic256Sha256, ua.MessageSecurityModeSignAndEncrypt)
		if err != nil {
			return nil, fmt.Errorf("%s: no Basic256Sha256 SignAndEncrypt endpoint: %w", s.endpoint, err)
		}
		if !bytes.Equal(ep.ServerCertificate, s.serverCert) {
			return nil, fmt.Errorf("%s: %w", s.endpoint, errUntrusted)
		}
		opts = append(opts,
			opcua.SecurityPolicy(ua.SecurityPolicyURIBasic256Sha256),
			opcua.SecurityMode(ua.MessageSecurityModeSignAndEncrypt),
			opcua.Certificate(s.cert), opcua.PrivateKey(s.key),
			opcua.RemoteCertificate(s.serverCert),
			opcua.SecurityFromEndpoint(ep, ua.UserTokenTypeAnonymous))
	}
	c, err := opcua.NewClient(s.endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("opcua client: %w", err)
	}
	if err := c.Connect(cctx); err != nil {
		return nil, fmt.Errorf("connect %s: %w", s.endpoint, err)
	}
	return c, nil
}

// serve subscribes every point and emits notifications until ctx ends (nil)
// or the connection is lost (the error).
func (s *Source) serve(ctx context.Context, c *opcua.Client, emit sensors.Emit, bo *srcutil.Backoff) error {
	notify := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: s.interval}, notify)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	items := make([]*ua.MonitoredItemCreateRequest, len(s.points))
	for i, p := range s.points {
		items[i] = opcua.NewMonitoredItemCreateRequestWithDefaults(p.node, ua.AttributeIDValue, uint32(i))
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, items...)
	if err != nil {
		return fmt.Errorf("create monitored items: %w", err)
	}
	s.t.Connected()
	bo.Reset()
	now := time.Now()
	for i, r := range res.Results {
		if i < len(s.points) && r.StatusCode != ua.StatusOK {
			s.bad(emit, s.points[i], now, r.StatusCode)
		}
	}
	tick := time.NewTicker(stateEvery)
	defer tick.Stop()
	lastCheck := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if st := c.State(); st != opcua.Connected {
				return fmt.Errorf("connection lost (%s)", st)
			}
			// A peer that vanished without closing the connection (power
			// loss, cable) is only noticed by asking it something.
			if now.Sub(lastCheck) >= max(10*s.interval, aliveEvery) {
				lastCheck = now
				if err := s.alive(ctx, c); err != nil {
					return err
				}
			}
		case n := <-notify:
			if n.Error != nil {
				continue // the state check above tells a lost connection
			}
			if dc, ok := n.Value.(*ua.DataChangeNotification); ok {
				for _, item := range dc.MonitoredItems {
					if int(item.ClientHandle) < len(s.points) {
						s.handle(emit, s.points[item.ClientHandle], item.Value)
					}
				}
			}
		}
	}
}

// bad flags a point whose node or read has a bad status.
func (s *Source) bad(emit sensors.Emit, p *point, at time.Time, code ua.StatusCode) {
	kind := sensors.ErrReadFailed
	if code == ua.StatusBadNodeIDUnknown || code == ua.StatusBadNodeIDInvalid {
		kind = sensors.ErrNoSuchPoint
	}
	s.t.Bad(emit, p.name, at, fmt.Errorf("point %q node %s: %w: %w", p.name, p.node, kind, code))
}

// handle emits one data change.
func (s *Source) handle(emit sensors.Emit, p *point, dv *ua.DataValue) {
	now := time.Now()
	if dv == nil {
		s.t.Bad(emit, p.name, now, fmt.Errorf("point %q node %s: %w: empty data value", p.name, p.node, sensors.ErrReadFailed))
		return
	}
	ts := dv.SourceTimestamp
	if ts.IsZero() {
		ts = dv.ServerTimestamp
	}
	if ts.IsZero() {
		ts = now
	}
	if dv.Status != ua.StatusOK {
		s.bad(emit, p, ts, dv.Status)
		return
	}
	if p.maxAge > 0 && now.Sub(ts) > p.maxAge {
		s.t.Bad(emit, p.name, ts, fmt.Errorf("point %q node %s: %w: measured %v ago (max_age %v)",
			p.name, p.node, sensors.ErrStale, now.Sub(ts).Round(time.Millisecond), p.maxAge))
		return
	}
	raw, err := number(dv.Value)
	if err == nil {
		var v float64
		if v, err = p.scale.Apply(raw); err == nil {
			s.t.Good(emit, p.name, ts, v)
			return
		}
	}
	s.t.Bad(emit, p.name, ts, fmt.Errorf("point %q node %s: %w", p.name, p.node, err))
}

// number converts a scalar variant of a numeric or boolean type.
func number(v *ua.Variant) (float64, error) {
	if v == nil {
		return 0, fmt.Errorf("%w: no value", sensors.ErrWrongType)
	}
	switch x := v.Value().(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return toFloat(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%w: %T", sensors.ErrWrongType, v.Value())
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	}
	return float64(v.(uint64))
}

// alive reads the server's current time, failing when the server does not
// answer within the timeout.
func (s *Source) alive(ctx context.Context, c *opcua.Client) error {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := c.Read(rctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime), AttributeID: ua.AttributeIDValue},
	}})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("server does not answer: %w", err)
	}
	return nil
}
