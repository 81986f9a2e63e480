// Package modbus reads points from a Modbus TCP server (a PLC, a gateway):
//
//	modbus://HOST:PORT?unit=N
//
// unit is the unit (slave) id, 0–255, default 1. A point's Address is
// TABLE:REGISTER with TABLE holding, input, coil or discrete and REGISTER
// the 0-based address. Register points take the options type (int16,
// uint16, int32, uint32, float32; default uint16), word_order (high_first,
// low_first; default high_first), byte_order (big, little; default big);
// every point takes scale (default 1), offset (default 0), min and max.
//
// The source polls every Interval, reading contiguous points of a table in
// one request per block, and reconnects with exponential backoff and
// jitter when the connection is lost. A Modbus exception (for example an
// illegal data address) flags the block's points and keeps the connection.
package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"strconv"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
)

// Defaults for Options fields left zero.
const (
	// DefaultInterval is the poll interval.
	DefaultInterval = time.Second
	// DefaultTimeout bounds one request.
	DefaultTimeout = time.Second
	// DefaultUnit is the unit id.
	DefaultUnit = 1
)

func init() { sensors.Register("modbus", New) }

var _ sensors.Source = (*Source)(nil)

// Source polls one Modbus TCP server.
type Source struct {
	name     string
	addr     string
	unit     uint8
	interval time.Duration
	timeout  time.Duration
	blocks   []*block
	t        *srcutil.Tracker
}

// New builds a Source from a modbus:// URL; it validates every point and
// refuses overlapping register maps.
func New(u *url.URL, opts sensors.Options) (sensors.Source, error) {
	q, err := srcutil.Query(opts.Name, u, "unit")
	if err != nil {
		return nil, err
	}
	if u.Host == "" || u.Port() == "" {
		return nil, fmt.Errorf("source %q: url %q: want modbus://HOST:PORT", opts.Name, u.Redacted())
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("source %q: url %q: unexpected path %q", opts.Name, u.Redacted(), u.Path)
	}
	s := &Source{
		name: opts.Name, addr: u.Host, unit: DefaultUnit,
		interval: opts.Interval, timeout: opts.Timeout,
		t: srcutil.NewTracker(opts, "modbus"),
	}
	if v := q.Get("unit"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("source %q: url parameter unit=%q: must be 0–255", opts.Name, v)
		}
		s.unit = uint8(n)
	}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if len(opts.Points) == 0 {
		return nil, fmt.Errorf("source %q: no points", opts.Name)
	}
	points := make([]*point, 0, len(opts.Points))
	for _, pc := range opts.Points {
		p, err := parsePoint(opts.Name, pc)
		if err != nil {
			return nil, err
		}
		points = append(points, p)
	}
	if s.blocks, err = plan(opts.Name, points); err != nil {
		return nil, err
	}
	return s, nil
}

// Health returns the source's state and counters.
func (s *Source) Health() sensors.Health { return s.t.Health() }

// Run polls until ctx ends, reconnecting with backoff after a lost
// connection. It returns nil.
func (s *Source) Run(ctx context.Context, emit sensors.Emit) error {
	defer s.t.Stopped()
	var bo srcutil.Backoff
	for ctx.Err() == nil {
		c, err := s.connect()
		if err == nil {
			s.t.Connected()
			bo.Reset()
			err = s.poll(ctx, c, emit)
			c.Close()
			if err == nil {
				return nil
			}
		}
		s.t.Lost(err)
		if !srcutil.Sleep(ctx, bo.Next()) {
			return nil
		}
	}
	return nil
}

func (s *Source) connect() (*mb.ModbusClient, error) {
	c, err := mb.NewClient(&mb.ClientConfiguration{
		URL:     "tcp://" + s.addr,
		Timeout: s.timeout,
		Logger:  log.New(io.Discard, "", 0),
	})
	if err != nil {
		return nil, fmt.Errorf("modbus client: %w", err)
	}
	if err := c.Open(); err != nil {
		return nil, fmt.Errorf("connect %s: %w", s.addr, err)
	}
	if err := c.SetUnitId(s.unit); err != nil {
		c.Close()
		return nil, fmt.Errorf("unit id %d: %w", s.unit, err)
	}
	return c, nil
}

// poll reads every block each interval. It returns nil when ctx ends and
// the error that broke the connection otherwise.
func (s *Source) poll(ctx context.Context, c *mb.ModbusClient, emit sensors.Emit) error {
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		for _, b := range s.blocks {
			if err := s.readBlock(c, b, emit); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// readBlock reads one block and emits its points. A Modbus exception flags
// the block's points; any other error is returned as a lost connection.
func (s *Source) readBlock(c *mb.ModbusClient, b *block, emit sensors.Emit) error {
	var regs []uint16
	var bits []bool
	var err error
	switch b.table {
	case Holding:
		regs, err = c.ReadRegisters(b.start, uint16(b.count), mb.HOLDING_REGISTER)
	case Input:
		regs, err = c.ReadRegisters(b.start, uint16(b.count), mb.INPUT_REGISTER)
	case Coil:
		bits, err = c.ReadCoils(b.start, uint16(b.count))
	case Discrete:
		bits, err = c.ReadDiscreteInputs(b.start, uint16(b.count))
	}
	now := time.Now()
	if err != nil {
		var exc mb.Error
		if !errors.As(err, &exc) || exc == mb.ErrRequestTimedOut || exc == mb.ErrProtocolError ||
			exc == mb.ErrBadTransactionId || exc == mb.ErrUnknownProtocolId || exc == mb.ErrShortFrame {
			return fmt.Errorf("read %s:%d+%d: %w", b.table, b.start, b.count, err)
		}
		kind := sensors.ErrReadFailed
		if exc == mb.ErrIllegalDataAddress || exc == mb.ErrIllegalFunction {
			kind = sensors.ErrNoSuchPoint
		}
		for _, p := range b.points {
			s.t.Bad(emit, p.name, now, fmt.Errorf("point %q %s: %w: %w", p.name, p, kind, err))
		}
		return nil
	}
	for _, p := range b.points {
		off := int(p.addr - b.start)
		var raw float64
		if bits != nil {
			if bits[off] {
				raw = 1
			}
		} else if raw, err = p.format.Decode(regs[off : off+p.size()]); err != nil {
			s.t.Bad(emit, p.name, now, fmt.Errorf("point %q %s: %w: %w", p.name, p, sensors.ErrWrongType, err))
			continue
		}
		v, err := p.scale.Apply(raw)
		if err != nil {
			s.t.Bad(emit, p.name, now, fmt.Errorf("point %q %s: %w", p.name, p, err))
			continue
		}
		s.t.Good(emit, p.name, now, v)
	}
	return nil
}
