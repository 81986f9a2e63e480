// Package opcua reads sensor points from an OPC UA server through one
// subscription with a monitored item per point:
//
//	opcua://HOST:PORT[/PATH]?security=none
//	opcua://HOST:PORT[/PATH]?security=basic256sha256&cert=F&key=F&server_cert=F
//
// security none (the default) talks in the clear; basic256sha256 signs and
// encrypts with the client certificate and RSA key in cert and key (PEM or
// DER) and trusts only the server whose certificate is in server_cert: an
// endpoint presenting another certificate is refused. (The server package
// of gopcua v0.8.0 cannot complete this handshake, gopcua/opcua#815; real
// PLCs and other stacks can.) A point's Address is
// a node id (ns=2;s=Motor1.Vibration, ns=3;i=1001). Options: max_age, the
// age of the source timestamp beyond which a value is stale (default: no
// limit), and scale, offset, min and max.
//
// Samples carry the server's source timestamp (the server timestamp, then
// the arrival time, where it lacks one). A node the server does not know is
// flagged (a sample with an Err wrapping sensors.ErrNoSuchPoint, counted and
// logged once) while the other points keep flowing.
//
// The client library's own reconnect is turned off: it retries at a fixed
// interval and gives up for good when the server refuses the connection,
// which is what a restarting PLC does. The source instead reconnects with
// exponential backoff and jitter and creates a fresh session, subscription
// and monitored items every time, which works whether the server kept the
// old session or not.
package opcua

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
)

// Defaults for Options fields left zero.
const (
	// DefaultInterval is the publishing interval of the subscription.
	DefaultInterval = time.Second
	// DefaultTimeout bounds a connect or request.
	DefaultTimeout = 5 * time.Second
)

// Security modes (URL parameter security).
const (
	SecurityNone           = "none"
	SecurityBasic256Sha256 = "basic256sha256"
)

func init() { sensors.Register("opcua", New) }

var _ sensors.Source = (*Source)(nil)

type point struct {
	name   string
	node   *ua.NodeID
	maxAge time.Duration
	scale  srcutil.Scale
}

// Source subscribes to the points' nodes on one OPC UA server.
type Source struct {
	name       string
	endpoint   string
	security   string
	cert       []byte // client certificate, DER
	key        *rsa.PrivateKey
	serverCert []byte // trusted server certificate, DER
	interval   time.Duration
	timeout    time.Duration
	points     []*point
	t          *srcutil.Tracker
}

// New builds a Source from an opcua:// URL.
func New(u *url.URL, opts sensors.Options) (sensors.Source, error) {
	q, err := srcutil.Query(opts.Name, u, "security", "cert", "key", "server_cert")
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("source %q: "+format, append([]any{opts.Name}, args...)...)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, bad("url %q: want opcua://HOST:PORT[/PATH]", u.Redacted())
	}
	s := &Source{
		name: opts.Name, endpoint: "opc.tcp://" + u.Host + u.EscapedPath(),
		security: SecurityNone, interval: opts.Interval, timeout: opts.Timeout,
		t: srcutil.NewTracker(opts, "opcua"),
	}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	switch v := strings.ToLower(q.Get("security")); v {
	case "", SecurityNone:
		if q.Get("cert")+q.Get("key")+q.Get("server_cert") != "" {
			return nil, bad("url parameters cert, key and server_cert need security=basic256sha256")
		}
	case SecurityBasic256Sha256:
		s.security = v
		for _, name := range []string{"cert", "key", "server_cert"} {
			if q.Get(name) == "" {
				return nil, bad("url parameter %s: required with security=basic256sha256", name)
			}
		}
		if s.cert, err = readCert(q.Get("cert")); err != nil {
			return nil, bad("url parameter cert: %w", err)
		}
		if s.serverCert, err = readCert(q.Get("server_cert")); err != nil {
			return nil, bad("url parameter server_cert: %w", err)
		}
		if s.key, err = readKey(q.Get("key")); err != nil {
			return nil, bad("url parameter key: %w", err)
		}
	default:
		return nil, bad("url parameter security=%q: must be none or basic256sha256", v)
	}
	if len(opts.Points) == 0 {
		return nil, bad("no points")
	}
	for _, pc := range opts.Points {
		o := srcutil.Point(opts.Name, pc)
		p := &point{name: pc.Name}
		if p.node, err = ua.ParseNodeID(pc.Address); err != nil || !strings.Contains(pc.Address, "=") {
			if err == nil {
				err = errors.New("want ns=N;s=NAME, ns=N;i=NUMBER or the like")
			}
			return nil, o.Errorf("address %q: not a node id: %v", pc.Address, err)
		}
		if p.maxAge, err = o.Duration("max_age", 0); err != nil {
			return nil, err
		}
		if p.scale, err = srcutil.ParseScale(o); err != nil {
			return nil, err
		}
		if err := o.Done(); err != nil {
			return nil, err
		}
		s.points = append(s.points, p)
	}
	return s, nil
}

// Health returns the source's state and counters.
func (s *Source) Health() sensors.Health { return s.t.Health() }

// readCert reads a certificate file, PEM or DER, and returns its DER bytes.
func readCert(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if _, err := x509.ParseCertificate(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// readKey reads an RSA private key file, PEM or DER, PKCS #1 or #8.
func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key", path)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA private key", path)
	}
	return rk, nil
}
