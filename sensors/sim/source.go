package sim

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Clock maps wall-clock time to simulated machine time, so that hours of
// machine life can pass in seconds: with Speed 3600 one simulated hour
// passes every wall-clock second.
type Clock struct {
	// Start is the wall-clock instant of simulated time zero.
	Start time.Time
	// Speed is simulated time per wall-clock time; 1 is real time.
	Speed float64
}

// MaxSpeed bounds Clock.Speed: one simulated week per wall-clock second.
const MaxSpeed = 7 * 24 * 3600

// Sim returns the simulated time at wall-clock instant now; it is zero
// before Start.
func (c Clock) Sim(now time.Time) time.Duration {
	return time.Duration(float64(max(now.Sub(c.Start), 0)) * c.Speed)
}

// Wall returns the wall-clock time that simulated duration d takes, for
// example the ticker period that yields one sample per simulated minute.
func (c Clock) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Speed)
}

// Config is a simulated sensor source as described by a sim:// URL. The
// source for the agent is built on top of it:
//
//	sim://KIND?seed=S&asset=N&speed=X&period=D&noise=F&regime_mix=F&dropout=F&min_life=D&max_life=D&repair=D&regime_every=D
//
// KIND is motor, bearing or pump. Every parameter is optional:
//
//	seed          int64, default 1        machine randomness is drawn from (seed, asset)
//	asset         int ≥ 0, default 0      asset index; machines with the same seed and index are identical
//	speed         float in (0, 604800], default 3600  simulated seconds per wall-clock second
//	period        duration, default 2m    simulated time between samples (match the model's lineside.period_s)
//	noise         float in [0, 10], default 1
//	regime_mix    float in [0, 1], default 1
//	dropout       float in [0, 0.5], default 0.002
//	min_life, max_life, repair, regime_every  durations, defaults as in Options
//
// An unknown parameter is an error naming it, so typos are not ignored.
type Config struct {
	// Kind is the asset kind (the URL host).
	Kind string
	// Seed and Asset select the machine; see NewMachine.
	Seed  int64
	Asset int
	// Speed is the Clock speed. Default 3600.
	Speed float64
	// Period is the simulated sampling period. Default 2 min.
	Period time.Duration
	// Options tune the machine; defaults are DefaultOptions.
	Options Options
}

// Defaults for the sim:// URL parameters that are not machine options.
const (
	DefaultSpeed  = 3600
	DefaultPeriod = 2 * time.Minute
)

var urlParams = map[string]func(c *Config, v string) error{
	"seed":         func(c *Config, v string) (err error) { c.Seed, err = strconv.ParseInt(v, 10, 64); return },
	"asset":        func(c *Config, v string) (err error) { c.Asset, err = strconv.Atoi(v); return },
	"speed":        func(c *Config, v string) error { return parseFloat(v, &c.Speed) },
	"period":       func(c *Config, v string) (err error) { c.Period, err = time.ParseDuration(v); return },
	"noise":        func(c *Config, v string) error { return parseFloat(v, &c.Options.Noise) },
	"regime_mix":   func(c *Config, v string) error { return parseFloat(v, &c.Options.RegimeMix) },
	"dropout":      func(c *Config, v string) error { return parseFloat(v, &c.Options.DropoutRate) },
	"min_life":     func(c *Config, v string) (err error) { c.Options.MinLife, err = time.ParseDuration(v); return },
	"max_life":     func(c *Config, v string) (err error) { c.Options.MaxLife, err = time.ParseDuration(v); return },
	"repair":       func(c *Config, v string) (err error) { c.Options.RepairTime, err = time.ParseDuration(v); return },
	"regime_every": func(c *Config, v string) (err error) { c.Options.RegimeEvery, err = time.ParseDuration(v); return },
}

func parseFloat(v string, dst *float64) error {
	f, err := strconv.ParseFloat(v, 64)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		err = fmt.Errorf("not a finite number")
	}
	*dst = f
	return err
}

// ParseURL reads a sim:// URL (see Config) and validates every parameter.
func ParseURL(u *url.URL) (Config, error) {
	c := Config{Seed: 1, Speed: DefaultSpeed, Period: DefaultPeriod, Options: DefaultOptions()}
	if u.Scheme != "sim" {
		return c, fmt.Errorf("sim: url scheme %q: want sim", u.Scheme)
	}
	c.Kind = u.Host
	if c.Kind == "" {
		c.Kind = strings.Trim(u.Opaque+u.Path, "/")
	} else if p := strings.Trim(u.Path, "/"); p != "" {
		return c, fmt.Errorf("sim: url %q: unexpected path %q after the kind", u.Redacted(), u.Path)
	}
	if _, err := lookupKind(c.Kind); err != nil {
		return c, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("sim: url query: %w", err)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		set, ok := urlParams[name]
		if !ok {
			return c, fmt.Errorf("sim: url parameter %q: unknown (known: %s)", name, knownParams())
		}
		if vs := q[name]; len(vs) != 1 {
			return c, fmt.Errorf("sim: url parameter %q: given %d times", name, len(vs))
		}
		if err := set(&c, q.Get(name)); err != nil {
			return c, fmt.Errorf("sim: url parameter %s=%q: %w", name, q.Get(name), err)
		}
	}
	return c, c.Validate()
}

func knownParams() string {
	names := make([]string, 0, len(urlParams))
	for name := range urlParams {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	if _, err := lookupKind(c.Kind); err != nil {
		return err
	}
	switch {
	case c.Asset < 0:
		return fmt.Errorf("sim: asset %d: must not be negative", c.Asset)
	case !(c.Speed > 0 && c.Speed <= MaxSpeed):
		return fmt.Errorf("sim: speed %v: must be in (0, %d]", c.Speed, MaxSpeed)
	case c.Period <= 0:
		return fmt.Errorf("sim: period %v: must be positive", c.Period)
	}
	return c.Options.Validate()
}

// Machine builds the machine the Config describes.
func (c Config) Machine() (*Machine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return NewMachine(c.Kind, c.Seed, c.Asset, c.Options)
}
