// Package sensors reads machine sensor points — Modbus TCP registers, OPC UA
// nodes, MQTT topics, simulated machines — and turns them into per-asset
// windows for failure-prediction models.
//
// A Source is one connection (a PLC, an OPC UA server, a broker, a simulated
// machine) serving one or more points. Implementations live in sub-packages
// and register themselves by URL scheme in init().
package sensors

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/lineside/lineside/internal/scheme"
)

// ErrNotConnected is returned by a Source that must be (re)connected.
var ErrNotConnected = errors.New("not connected")

// Sample is one reading of one point.
type Sample struct {
	// Point is the point's name from the config (unique within the agent).
	Point string
	// Time is when the value was measured: the source's timestamp where the
	// protocol carries one (OPC UA, JSON payloads), else the read time.
	Time time.Time
	// Value is the scaled reading in engineering units.
	Value float64
	// Err is set, and Value meaningless, when the point could not be read or
	// its value was rejected (NaN, out of range, wrong type, stale, missing
	// node). The point is then excluded from windows until a good sample.
	Err error
}

// PointConfig describes one point of a source. Fields a source kind does not
// use are ignored by it and refused by config validation.
type PointConfig struct {
	// Name is the point's unique name, referenced by assets.
	Name string
	// Address locates the value within the source: a Modbus register spec,
	// an OPC UA node id, an MQTT topic filter, a simulated feature name.
	Address string
	// Options holds source-specific settings (type, byte order, scale,
	// offset, JSON field path, min, max, ...), as strings from the config.
	Options map[string]string
}

// Emit receives samples. It must not block for long; the agent's collector
// buffers with bounded memory.
type Emit func(Sample)

// Source is one sensor connection. Run connects, reads or subscribes, emits
// samples and reconnects with backoff until ctx ends; it returns nil on ctx
// end and an error only for a configuration that can never work. Health may
// be called concurrently with Run.
type Source interface {
	Run(ctx context.Context, emit Emit) error
	Health() Health
}

// Health is a source's state for status and metrics.
type Health struct {
	// State is connecting, connected, reconnecting, failed or stopped.
	State string
	// Reason says why the source is not connected, if it is not.
	Reason string
	// Since is when State was entered.
	Since time.Time
	// Reconnects counts successful reconnects after the first connect.
	Reconnects uint64
	// Reads counts successful point reads or received values.
	Reads uint64
	// ReadErrors counts failed or rejected reads, all points together.
	ReadErrors uint64
}

// Options are the per-source settings a Factory receives.
type Options struct {
	// Name is the source's name from the config.
	Name string
	// Points are the points this source serves.
	Points []PointConfig
	// Interval is the poll interval for polled protocols.
	Interval time.Duration
	// Timeout bounds one request or connect attempt.
	Timeout time.Duration
	// Logger receives the source's state changes and first-of-a-kind point
	// errors; nil means slog.Default().
	Logger *slog.Logger
	// OnState, if set, is called after every state change of the source with
	// its new health. It must not block.
	OnState func(Health)
}

// Factory builds a Source from its URL.
type Factory func(u *url.URL, opts Options) (Source, error)

var registry = scheme.New[Factory]("sensors")

// Register makes a source kind available under a URL scheme; it panics on a
// duplicate scheme, which is a programming error.
func Register(scheme string, f Factory) { registry.Register(scheme, f) }

// Schemes lists the registered URL schemes in order.
func Schemes() []string { return registry.Schemes() }

// NewSource parses a source URL and builds the registered implementation.
func NewSource(source string, opts Options) (Source, error) {
	u, f, err := registry.Lookup(source)
	if err != nil {
		return nil, err
	}
	return f(u, opts)
}
