// Package mqttin reads sensor points from an MQTT broker on the plant
// network (which may differ from the cloud broker the agent reports to):
//
//	mqtt://[USER:PASSWORD@]HOST:PORT?client_id=ID&qos=0|1&password_file=F
//	mqtts://HOST:PORT?ca_file=F&cert_file=F&key_file=F&...
//
// A point's Address is a topic filter (wildcards allowed). Options: field,
// the JSON path of the value (a.b[0].c; empty means the payload is a plain
// number); time_field, the JSON path of the measurement time (RFC 3339 or
// epoch milliseconds; default the arrival time); max_age, the age beyond
// which a timestamped value is stale (default: no limit); and scale,
// offset, min and max. Malformed JSON, a missing field, a value of the
// wrong type, NaN or Inf, and stale values give samples whose Err says so.
//
// The source subscribes with a clean session on every (re)connect and
// reconnects with exponential backoff and jitter.
package mqttin

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
)

// DefaultTimeout bounds a connect or subscribe when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

func init() {
	sensors.Register("mqtt", New)
	sensors.Register("mqtts", New)
}

var _ sensors.Source = (*Source)(nil)

// point is one configured point.
type point struct {
	name   string
	filter string
	field  Path
	time   Path // nil: arrival time
	maxAge time.Duration
	scale  srcutil.Scale
}

// Source subscribes to the points' topics on one broker.
type Source struct {
	name     string
	broker   string
	clientID string
	user     string
	password string
	qos      byte
	tls      *tls.Config
	timeout  time.Duration
	points   []*point
	filters  map[string][]*point // topic filter → points
	t        *srcutil.Tracker
}

// New builds a Source from an mqtt:// or mqtts:// URL.
func New(u *url.URL, opts sensors.Options) (sensors.Source, error) {
	q, err := srcutil.Query(opts.Name, u, "client_id", "qos", "password_file", "ca_file", "cert_file", "key_file")
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("source %q: "+format, append([]any{opts.Name}, args...)...)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, bad("url %q: want %s://HOST:PORT", u.Redacted(), u.Scheme)
	}
	s := &Source{
		name: opts.Name, broker: "tcp://" + u.Host, timeout: opts.Timeout,
		clientID: q.Get("client_id"), filters: map[string][]*point{},
		t: srcutil.NewTracker(opts, u.Scheme),
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.clientID == "" {
		s.clientID = fmt.Sprintf("lineside-in-%s-%d", opts.Name, os.Getpid())
	}
	switch v := q.Get("qos"); v {
	case "", "0":
	case "1":
		s.qos = 1
	default:
		return nil, bad("url parameter qos=%q: must be 0 or 1", v)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	if f := q.Get("password_file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, bad("url parameter password_file: %w", err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
	}
	if u.Scheme == "mqtts" {
		s.broker = "ssl://" + u.Host
		if s.tls, err = tlsConfig(q.Get("ca_file"), q.Get("cert_file"), q.Get("key_file")); err != nil {
			return nil, bad("%w", err)
		}
	} else if q.Get("ca_file")+q.Get("cert_file")+q.Get("key_file") != "" {
		return nil, bad("url %q: ca_file, cert_file and key_file need mqtts://", u.Redacted())
	}
	if len(opts.Points) == 0 {
		return nil, bad("no points")
	}
	for _, pc := range opts.Points {
		p, err := parsePoint(opts.Name, pc)
		if err != nil {
			return nil, err
		}
		s.points = append(s.points, p)
		s.filters[p.filter] = append(s.filters[p.filter], p)
	}
	return s, nil
}

func parsePoint(source string, pc sensors.PointConfig) (*point, error) {
	o := srcutil.Point(source, pc)
	p := &point{name: pc.Name, filter: pc.Address}
	if err := validFilter(pc.Address); err != nil {
		return nil, o.Errorf("address %q: %v", pc.Address, err)
	}
	var err error
	for _, f := range []struct {
		key string
		dst *Path
	}{{"field", &p.field}, {"time_field", &p.time}} {
		v, _ := o.String(f.key, "")
		if *f.dst, err = ParsePath(v); err != nil {
			return nil, o.Errorf("option %s: %v", f.key, err)
		}
		if f.key == "time_field" && v != "" && len(p.time) == 0 {
			return nil, o.Errorf("option time_field=%q: empty path", v)
		}
	}
	if p.maxAge, err = o.Duration("max_age", 0); err != nil {
		return nil, err
	}
	if p.maxAge > 0 && p.time == nil {
		return nil, o.Errorf("option max_age needs time_field: without it every value is fresh")
	}
	if p.scale, err = srcutil.ParseScale(o); err != nil {
		return nil, err
	}
	return p, o.Done()
}

// validFilter checks MQTT topic filter syntax.
func validFilter(f string) error {
	if f == "" {
		return fmt.Errorf("empty topic filter")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("# must be the last level")
		case l != "#" && l != "+" && strings.ContainsAny(l, "#+"):
			return fmt.Errorf("wildcards must fill a whole level")
		}
	}
	return nil
}

func tlsConfig(ca, cert, key string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", ca)
		}
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("cert_file and key_file go together")
	}
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c, nil
}

// Health returns the source's state and counters.
func (s *Source) Health() sensors.Health { return s.t.Health() }

// qosString is for logs.
func (s *Source) qosString() string { return strconv.Itoa(int(s.qos)) }
