package srcutil

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lineside/lineside/sensors"
)

// Reconnect delays, the same as the cameras'.
const (
	// DefaultBackoffMin is the first reconnect delay.
	DefaultBackoffMin = 500 * time.Millisecond
	// DefaultBackoffMax caps the exponential reconnect delay.
	DefaultBackoffMax = 30 * time.Second
)

// Backoff yields exponentially growing reconnect delays with ±20 % jitter,
// so that many agents do not reconnect to a restarted PLC in lockstep.
type Backoff struct {
	// Min and Max bound the delay; zero means the defaults.
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the delay to wait now and doubles the next one.
func (b *Backoff) Next() time.Duration {
	if b.Min <= 0 {
		b.Min = DefaultBackoffMin
	}
	if b.Max < b.Min {
		b.Max = max(DefaultBackoffMax, b.Min)
	}
	if b.cur == 0 {
		b.cur = b.Min
	}
	d := time.Duration(float64(b.cur) * (0.8 + 0.4*rand.Float64()))
	b.cur = min(b.cur*2, b.Max)
	return d
}

// Reset starts the delays over after a successful connect.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits for d or until ctx ends; it reports whether ctx is still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Query parses u's query and refuses parameters not in known and
// parameters given twice, naming the source.
func Query(source string, u *url.URL, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("source %q: url query: %w", source, err)
	}
	for name, vs := range q {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("source %q: url parameter %q: unknown (known: %s)", source, name, strings.Join(known, ", "))
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("source %q: url parameter %q: given %d times", source, name, len(vs))
		}
	}
	return q, nil
}

// PointOptions reads one point's options, remembering which were used so
// that Done can refuse the rest as unknown.
type PointOptions struct {
	source string
	point  sensors.PointConfig
	used   map[string]bool
}

// Point starts reading p's options for the named source.
func Point(source string, p sensors.PointConfig) *PointOptions {
	return &PointOptions{source: source, point: p, used: map[string]bool{}}
}

// Errorf returns an error naming the source and the point.
func (o *PointOptions) Errorf(format string, args ...any) error {
	return fmt.Errorf("source %q: point %q: %s", o.source, o.point.Name, fmt.Sprintf(format, args...))
}

func (o *PointOptions) get(key string) (string, bool) {
	o.used[key] = true
	v, ok := o.point.Options[key]
	return v, ok
}

// String returns option key, def when absent; a value not in allowed (if
// any are given) is an error.
func (o *PointOptions) String(key, def string, allowed ...string) (string, error) {
	v, ok := o.get(key)
	if !ok || v == "" {
		return def, nil
	}
	if len(allowed) > 0 && !slices.Contains(allowed, v) {
		return "", o.Errorf("option %s=%q: must be one of %s", key, v, strings.Join(allowed, ", "))
	}
	return v, nil
}

// Float returns option key as a finite number, def when absent.
func (o *PointOptions) Float(key string, def float64) (float64, error) {
	v, ok := o.get(key)
	if !ok || v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, o.Errorf("option %s=%q: not a finite number", key, v)
	}
	return f, nil
}

// Duration returns option key as a non-negative duration, def when absent.
func (o *PointOptions) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o.get(key)
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, o.Errorf("option %s=%q: not a non-negative duration", key, v)
	}
	return d, nil
}

// Done refuses options that were never asked for, so typos are not ignored.
func (o *PointOptions) Done() error {
	var unknown, known []string
	for k := range o.point.Options {
		if !o.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	for k := range o.used {
		known = append(known, k)
	}
	sort.Strings(unknown)
	sort.Strings(known)
	return o.Errorf("option %q: unknown (known: %s)", unknown[0], strings.Join(known, ", "))
}
