// Package uplink publishes the outbox to the MQTT broker.
//
// An Uplink keeps two MQTT connections to the broker, set up and torn down
// together by Run's connect loop (exponential backoff with jitter); one
// connection generation covers both, and when either is lost both are closed
// and dialled again.
//
// The control connection is a paho client under the stable ClientID, with
// the persistent session option, the will, the birth and offline status,
// the subscriptions (renewed on every connect), Publish (metrics, retained
// status, command replies) and the OnConnect hook. A fresh paho client is
// made for every connection, with paho's AutoReconnect and ConnectRetry off,
// so that no token or message id survives into the next connection.
//
// The data connection carries only the outbox records, which is where the
// volume is. paho's client path costs several microseconds of CPU per
// message (a token, hand-overs to its goroutines, its message store, a
// syscall per packet), more than a drain to a local broker can afford, so
// the data connection is a lean MQTT 3.1.1 publisher of its own (dataconn.go):
// clean session, client id ClientID+DataClientSuffix, no will, paho's
// packets codec for the handshake and the rare packets, PUBLISH frames
// encoded straight into a write buffer and flushed once per batch, and one
// reader goroutine that hands PUBACKs to the drain loop in batches. Packet
// ids index a table of the records in flight; a PUBACK for an id that is not
// in flight is a protocol error that ends the connection, as does a PUBACK
// or PINGRESP that does not arrive within PublishTimeout.
//
// A record is deleted from the outbox only after its own acknowledgement
// arrived on the connection that sent it (PUBACK for QoS 1, PUBCOMP for
// QoS 2, the socket write for QoS 0). Records in flight when a connection
// ends go back to the pool and are published again on the next one, so a
// lost connection duplicates at most the Window records in flight, a crash
// also those whose deletion had not committed yet, and neither loses one.
package uplink

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Sentinel errors.
var (
	// ErrNotConnected is returned by Publish while there is no connection.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrTimeout means a publish got no answer within Config.PublishTimeout.
	ErrTimeout = errors.New("publish timed out")
)

// Defaults for Config.
const (
	DefaultBroker         = "tcp://127.0.0.1:1883"
	DefaultWindow         = 64
	DefaultConnectTimeout = 5 * time.Second
	DefaultPublishTimeout = 20 * time.Second
	DefaultBackoffMin     = 500 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultKeepAlive      = 30 * time.Second
	DefaultDrainTimeout   = 2 * time.Second
)

// Config configures an Uplink. Zero values take the documented defaults.
type Config struct {
	// Broker is the broker URL: tcp:// or mqtt:// for plain TCP, ssl://,
	// tls:// or mqtts:// for TLS. Default tcp://127.0.0.1:1883.
	Broker string
	// ClientID is the MQTT client id of the control connection. Default
	// "lineside-{hostname}". The data connection, which carries the outbox
	// records, connects as ClientID+DataClientSuffix ("-out") with a clean
	// session; a broker that restricts client ids must allow both.
	ClientID string
	// Username and Password authenticate the client; empty means anonymous.
	Username string
	Password string
	// TLS is used for TLS broker URLs; nil means the system roots and the
	// host name from the URL.
	TLS *tls.Config
	// StatusTopic is the retained status topic. Empty disables birth,
	// will and the offline message on shutdown.
	StatusTopic string
	// Birth returns the retained status payload published (QoS 1) on every
	// connect, before any record. Nil publishes nothing.
	Birth func() []byte
	// Will is the last-will payload the broker publishes retained at QoS 1
	// on StatusTopic when the connection dies, and the payload published on
	// a clean shutdown. Default {"state":"offline"}.
	Will []byte
	// Window is the maximum number of outbox publishes awaiting their
	// acknowledgement, at most 65535. Default 64.
	Window int
	// ConnectTimeout bounds the dial plus MQTT handshake. Default 5s.
	ConnectTimeout time.Duration
	// PublishTimeout bounds one publish: the write to the socket and the
	// wait for its PUBACK; on the data connection it also bounds the wait for
	// a PINGRESP. A timeout aborts the connection. Default 20s.
	PublishTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between connect attempts;
	// it doubles per failure with equal jitter. Defaults 500ms and 30s.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// KeepAlive is the MQTT keep-alive interval of both connections; the
	// data connection sends a PINGREQ after this long without sending
	// anything. Default 30s.
	KeepAlive time.Duration
	// DrainTimeout is how long shutdown waits for in-flight PUBACKs.
	// Default 2s.
	DrainTimeout time.Duration
	// OnConnect, if set, runs after every successful connect and birth, in
	// Run's goroutine, before records flow. It should not block for long.
	// Subscriptions are better made with Uplink.Subscribe, which renews
	// them on every connect.
	OnConnect func(mqtt.Client)
	// CleanSession asks the broker to forget the session on every connect.
	// The default, false, keeps a persistent session under the stable
	// ClientID: subscriptions and QoS 1 messages for the agent queued
	// while it was away survive a reconnect. Outgoing records are not
	// affected: they travel on the data connection, which always starts a
	// clean session, so only the outbox re-sends, and a record in flight
	// when a connection drops may arrive twice (at most Window records per
	// reconnect).
	CleanSession bool
	// RateLimit caps outbox publishes per second; 0 means no limit.
	// Bursts of up to a tenth of a second's worth (at least 1, at most
	// Window) are allowed.
	RateLimit float64
}

// String describes the config for logs without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=<redacted>"
	}
	return fmt.Sprintf("broker=%s client_id=%s username=%q%s clean_session=%t window=%d rate_limit=%g tls=%t",
		c.Broker, c.ClientID, c.Username, pw, c.CleanSession, c.Window, c.RateLimit, c.TLS != nil)
}

// LogValue keeps the password out of structured logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c *Config) setDefaults() {
	if c.Broker == "" {
		c.Broker = DefaultBroker
	}
	if c.ClientID == "" {
		host, _ := os.Hostname()
		c.ClientID = "lineside-" + host
	}
	if c.Will == nil {
		c.Will = []byte(`{"state":"offline"}`)
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	setDur(&c.ConnectTimeout, DefaultConnectTimeout)
	setDur(&c.PublishTimeout, DefaultPublishTimeout)
	setDur(&c.BackoffMin, DefaultBackoffMin)
	setDur(&c.BackoffMax, DefaultBackoffMax)
	setDur(&c.KeepAlive, DefaultKeepAlive)
	setDur(&c.DrainTimeout, DefaultDrainTimeout)
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
}

// Stats is a snapshot of the uplink counters since New, for metrics.
type Stats struct {
	// Connected reports whether both connections are up now.
	Connected bool
	// Published counts outbox records written to the data connection,
	// re-publishes included.
	Published uint64
	// Acked counts records deleted from the outbox after their PUBACK.
	Acked uint64
	// Failed counts outbox publishes that failed: a write error, an
	// acknowledgement that timed out, or a record too large for MQTT.
	Failed uint64
	// Reconnects counts successful connects after the first.
	Reconnects uint64
	// InFlight is the number of records published and not yet deleted.
	InFlight int
	// RateLimited counts the times the rate limit held a publish back.
	RateLimited uint64
	// LastError is the most recent connection or publish error, if any.
	LastError string
}
