package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// connection is one generation of the uplink's two MQTT connections: the
// control connection (a paho client and the socket it runs on) and the data
// connection that carries the outbox. Neither is reused: when either is
// lost, both are discarded together with everything in flight on them.
type connection struct {
	client mqtt.Client
	data   *dataConn
	gen    uint64
	lost   chan error // receives once when paho reports the loss

	mu   sync.Mutex
	sock net.Conn
}

// connect dials the control connection, then the data connection,
// subscribes, publishes the birth message and runs the OnConnect hook. The
// returned connection is registered as current.
func (u *Uplink) connect(ctx context.Context) (*connection, error) {
	c := &connection{gen: u.gen.Add(1), lost: make(chan error, 1)}
	opts := mqtt.NewClientOptions().
		AddBroker(u.cfg.Broker).
		SetClientID(u.cfg.ClientID).
		SetUsername(u.cfg.Username).
		SetPassword(u.cfg.Password).
		SetCleanSession(u.cfg.CleanSession).
		// A fresh in-memory store per connection: paho never re-sends a
		// record on its own; the outbox does (see the package doc).
		SetStore(mqtt.NewMemoryStore()).
		SetDefaultPublishHandler(u.dispatch).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetKeepAlive(u.cfg.KeepAlive).
		SetConnectTimeout(u.cfg.ConnectTimeout).
		// Without a write timeout paho's Publish can block for 30s on a
		// stalled connection before it gives up.
		SetWriteTimeout(u.cfg.PublishTimeout).
		SetCustomOpenConnectionFn(c.dial(u.cfg.TLS, u.cfg.ConnectTimeout)).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case c.lost <- err:
			default:
			}
		})
	if u.cfg.StatusTopic != "" {
		opts.SetBinaryWill(u.cfg.StatusTopic, u.cfg.Will, 1, true)
	}
	c.client = mqtt.NewClient(opts)
	tok := c.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// The handshake is bounded by ConnectTimeout; finish it so that the
		// socket is not left behind.
		tok.WaitTimeout(u.cfg.ConnectTimeout + time.Second)
		c.abort()
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		c.abort()
		return nil, fmt.Errorf("connect %s: %w", u.cfg.Broker, err)
	}
	// The data connection comes up before the birth: a device that says it
	// is online can deliver its backlog.
	d, err := u.dialData(ctx)
	if err != nil {
		c.abort()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connect %s (data connection): %w", u.cfg.Broker, err)
	}
	c.data = d
	// Subscribe before the birth: a device that says it is online takes
	// commands, so a command sent on seeing the birth is not lost.
	if err := u.resubscribe(c); err != nil {
		c.abort()
		return nil, err
	}
	if u.cfg.StatusTopic != "" && u.cfg.Birth != nil {
		if err := c.publishWait(u.cfg.StatusTopic, 1, true, u.cfg.Birth(), u.cfg.PublishTimeout); err != nil {
			c.abort()
			return nil, fmt.Errorf("publish birth: %w", err)
		}
	}
	u.setConn(c)
	if u.cfg.OnConnect != nil {
		u.cfg.OnConnect(c.client)
	}
	return c, nil
}

// dial opens the socket itself so that abort can cut it: a cut socket
// looks like a network failure to the broker, which then publishes the will.
func (c *connection) dial(tlsCfg *tls.Config, timeout time.Duration) mqtt.OpenConnectionFunc {
	return func(uri *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
		sock, err := dialBroker(context.Background(), uri, tlsCfg, timeout)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.sock = sock
		c.mu.Unlock()
		return sock, nil
	}
}

// abort closes both sockets without an MQTT DISCONNECT (the broker
// publishes the will) and lets paho wind down; pending tokens fail.
func (c *connection) abort() {
	if c.data != nil {
		c.data.close()
	}
	c.mu.Lock()
	sock := c.sock
	c.mu.Unlock()
	if sock != nil {
		_ = sock.Close()
	}
	// Disconnect on a client whose connection is gone only updates its
	// status; it does not block beyond the quiesce time.
	c.client.Disconnect(0)
}

// publishWait publishes and waits for the token, at most timeout.
func (c *connection) publishWait(topic string, qos byte, retain bool, payload []byte, timeout time.Duration) error {
	tok := c.client.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(timeout) {
		return ErrTimeout
	}
	return tok.Error()
}

// close ends a generation politely: DISCONNECT on the data connection,
// then the offline status on the control connection (a clean shutdown sends
// no will) and its DISCONNECT.
func (u *Uplink) close(c *connection) {
	if c.data != nil {
		c.data.disconnect()
	}
	if u.cfg.StatusTopic != "" && c.client.IsConnectionOpen() {
		if err := c.publishWait(u.cfg.StatusTopic, 1, true, u.cfg.Will, u.cfg.DrainTimeout); err != nil {
			u.log.Warn("offline status not published", "err", err)
		}
	}
	c.client.Disconnect(250)
	u.log.Info("disconnected", "backlog", u.ob.Depth())
}
