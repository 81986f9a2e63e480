// Package simsrc is the sim:// sensor source: one simulated machine from
// sensors/sim, sampled in (sped-up) real time.
//
//	sim://KIND?seed=S&asset=N&speed=X&period=D&...
//
// takes every parameter of sim.Config. A point's Address is a feature name
// (vibration_rms, temperature, current, speed); the options scale, offset,
// min and max apply as for other sources.
//
// The source emits one sample per point every simulated period, that is
// every period/speed of wall-clock time, at the simulated instants k·period,
// so that a run reproduces the machine exactly. Sample.Time is the
// wall-clock instant of the simulated one. The simulator's dropouts are not
// hidden: a feature that reads NaN and a whole sample lost in a sensor
// outage both give samples whose Err wraps sensors.ErrDropout, so the
// windows see the gap the way they would with a real sensor.
package simsrc

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
	"github.com/lineside/lineside/sensors/sim"
)

// MaxCatchUp is the most samples emitted at once after the process was
// held up; beyond it the source skips ahead to the present.
const MaxCatchUp = 1000

func init() { sensors.Register("sim", New) }

var _ sensors.Source = (*Source)(nil)

type point struct {
	name    string
	feature int
	scale   srcutil.Scale
}

// Source emits the readings of one simulated machine.
type Source struct {
	cfg    sim.Config
	m      *sim.Machine
	points []point
	t      *srcutil.Tracker
	start  time.Time // wall-clock instant of simulated time zero; zero = Run's start
}

// New builds a Source from a sim:// URL.
func New(u *url.URL, opts sensors.Options) (sensors.Source, error) {
	cfg, err := sim.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", opts.Name, err)
	}
	m, err := cfg.Machine()
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", opts.Name, err)
	}
	if len(opts.Points) == 0 {
		return nil, fmt.Errorf("source %q: no points", opts.Name)
	}
	s := &Source{cfg: cfg, m: m, t: srcutil.NewTracker(opts, "sim")}
	for _, pc := range opts.Points {
		o := srcutil.Point(opts.Name, pc)
		f := slices.Index(sim.Features[:], pc.Address)
		if f < 0 {
			return nil, o.Errorf("address %q: want a feature: %v", pc.Address, sim.Features)
		}
		sc, err := srcutil.ParseScale(o)
		if err != nil {
			return nil, err
		}
		if err := o.Done(); err != nil {
			return nil, err
		}
		s.points = append(s.points, point{name: pc.Name, feature: f, scale: sc})
	}
	return s, nil
}

// Config returns the parsed sim:// URL.
func (s *Source) Config() sim.Config { return s.cfg }

// Health returns the source's state and counters.
func (s *Source) Health() sensors.Health { return s.t.Health() }

// Run emits samples until ctx ends; it returns nil.
func (s *Source) Run(ctx context.Context, emit sensors.Emit) error {
	defer s.t.Stopped()
	start := s.start
	if start.IsZero() {
		start = time.Now()
	}
	clock := sim.Clock{Start: start, Speed: s.cfg.Speed}
	wall := max(clock.Wall(s.cfg.Period), time.Millisecond)
	s.t.Connected()
	tick := time.NewTicker(wall)
	defer tick.Stop()
	k := int64(1) // the next sample is at simulated k·period
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			due := int64(clock.Sim(now) / s.cfg.Period)
			if due-k >= MaxCatchUp {
				k = due - MaxCatchUp + 1
			}
			for ; k <= due; k++ {
				t := time.Duration(k) * s.cfg.Period
				s.emit(emit, s.m.SampleAt(t), start.Add(clock.Wall(t)))
			}
		}
	}
}

func (s *Source) emit(emit sensors.Emit, smp sim.Sample, at time.Time) {
	for _, p := range s.points {
		v := smp.Values[p.feature]
		if smp.Missing {
			s.t.Bad(emit, p.name, at, fmt.Errorf("point %q: %w: sensor offline", p.name, sensors.ErrDropout))
			continue
		}
		if v != v { // NaN is how the simulator marks a lost reading
			s.t.Bad(emit, p.name, at, fmt.Errorf("point %q: %w: no reading", p.name, sensors.ErrDropout))
			continue
		}
		v, err := p.scale.Apply(v)
		if err != nil {
			s.t.Bad(emit, p.name, at, fmt.Errorf("point %q: %w", p.name, err))
			continue
		}
		s.t.Good(emit, p.name, at, v)
	}
}
