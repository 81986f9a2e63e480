// Package plc is a simulated PLC for tests and demos: it runs a fleet of
// sensors/sim machines in (sped-up) real time and serves their readings
// over Modbus TCP and OPC UA, the way a line's PLC or gateway would.
//
// Asset i has kind sim.AssetKind(i) and is machine (Seed, i). Its Modbus
// registers start at holding register 100·i (mirrored in the input
// registers); see RegisterMap. Its OPC UA nodes are ns=2;s=asset<i>.<name>;
// see NodeIDs. The time to failure and the failed flag are ground truth
// from the simulator, served as a test and demo aid only: a real PLC does
// not know when its machine will fail.
package plc

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/lineside/lineside/sensors/sim"
)

// Register offsets within an asset's block of holding registers; every
// value is a float32 in two registers, high word first, big-endian bytes.
const (
	// BlockSize is the distance between two assets' first registers.
	BlockSize = 100
	// RegFeatures is the first of the four features, in sim.Features order.
	RegFeatures = 0
	// RegTimeToFailure holds the seconds (simulated) to the next failure,
	// 0 while the asset is failed. Ground truth for tests and demos.
	RegTimeToFailure = 8
	// RegFailed holds 1 while the asset is failed and under repair, else 0.
	RegFailed = 10
	// RegLife holds the index of the current life (uint16).
	RegLife = 11
	// regsUsed is how many registers of a block are served.
	regsUsed = 12
)

// MaxAssets bounds Config.Assets so that every block fits the register space.
const MaxAssets = 600

// MinUpdate is the least wall-clock time between two value updates.
const MinUpdate = 100 * time.Millisecond

// Config configures a PLC.
type Config struct {
	// Assets is the number of machines, 1–MaxAssets.
	Assets int
	// Seed selects the machines (sim.NewMachine).
	Seed int64
	// Speed is simulated time per wall-clock time (sim.Clock); default
	// sim.DefaultSpeed.
	Speed float64
	// Period is the simulated time between two updates; default
	// sim.DefaultPeriod. Updates are at least MinUpdate apart in wall time.
	Period time.Duration
	// Options tune the machines; the zero value means sim.DefaultOptions().
	Options *sim.Options
	// Start is the wall-clock instant of simulated time zero; default now.
	// Two PLCs with the same Start, Seed and Speed serve the same values.
	Start time.Time
	// Modbus is the Modbus TCP listen address (host:port); "" serves none.
	Modbus string
	// OPCUA is the OPC UA listen address (host:port); "" serves none.
	OPCUA string
	// Certificate (DER) and Key advertise a Basic256Sha256 SignAndEncrypt
	// endpoint besides security None. The gopcua v0.8.0 server cannot yet
	// complete that handshake (gopcua/opcua#815), so it serves discovery
	// and certificate-trust checks only.
	Certificate []byte
	Key         *rsa.PrivateKey
	// Truth, if set, receives one JSON line per asset life (see TruthLine).
	Truth io.Writer
	// Logger receives the PLC's logs; nil means slog.Default().
	Logger *slog.Logger
}

// assetState is the latest reading of one asset.
type assetState struct {
	values [sim.NumFeatures]float64
	ttf    float64
	failed bool
	life   int
	at     time.Time
}

// PLC serves simulated machines. Create it with New and serve with Run.
type PLC struct {
	cfg      Config
	clock    sim.Clock
	period   time.Duration
	machines []*sim.Machine
	log      *slog.Logger

	ua *uaServer // nil without OPC UA

	mu     sync.RWMutex
	assets []assetState
	lives  []int // last life written to Truth, per asset
}

// New validates cfg and builds the machines.
func New(cfg Config) (*PLC, error) {
	if cfg.Assets < 1 || cfg.Assets > MaxAssets {
		return nil, fmt.Errorf("plc: assets %d: must be 1–%d", cfg.Assets, MaxAssets)
	}
	if cfg.Speed == 0 {
		cfg.Speed = sim.DefaultSpeed
	}
	if !(cfg.Speed > 0 && cfg.Speed <= sim.MaxSpeed) {
		return nil, fmt.Errorf("plc: speed %v: must be in (0, %d]", cfg.Speed, sim.MaxSpeed)
	}
	if cfg.Period == 0 {
		cfg.Period = sim.DefaultPeriod
	}
	if cfg.Period < 0 {
		return nil, fmt.Errorf("plc: period %v: must be positive", cfg.Period)
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	o := sim.DefaultOptions()
	if cfg.Options != nil {
		o = *cfg.Options
	}
	p := &PLC{
		cfg:    cfg,
		clock:  sim.Clock{Start: cfg.Start, Speed: cfg.Speed},
		log:    cfg.Logger.With("component", "plc"),
		assets: make([]assetState, cfg.Assets),
		lives:  make([]int, cfg.Assets),
	}
	p.period = max(p.clock.Wall(cfg.Period), MinUpdate)
	for i := range cfg.Assets {
		m, err := sim.NewMachine(sim.AssetKind(i), cfg.Seed, i, o)
		if err != nil {
			return nil, fmt.Errorf("plc: asset %d: %w", i, err)
		}
		p.machines = append(p.machines, m)
		p.lives[i] = -1
	}
	p.update(time.Now())
	return p, nil
}

// Clock returns the mapping from wall-clock to simulated time.
func (p *PLC) Clock() sim.Clock { return p.clock }

// update samples every machine at the last simulated sampling instant
// (a multiple of Period) before now, stamped with that instant's wall time,
// so that a reading can be traced back to the simulator exactly.
func (p *PLC) update(now time.Time) {
	t := p.clock.Sim(now) / p.cfg.Period * p.cfg.Period
	now = p.clock.Start.Add(p.clock.Wall(t))
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, m := range p.machines {
		s := m.SampleAt(t)
		a := assetState{values: s.Values, ttf: s.TimeToFailure.Seconds(), failed: s.Failed, life: s.Life, at: now}
		if s.Missing {
			for f := range a.values {
				a.values[f] = math.NaN()
			}
		}
		p.assets[i] = a
		if p.cfg.Truth != nil && p.lives[i] != s.Life {
			p.lives[i] = s.Life
			p.writeTruth(i, m.Life(s.Life))
		}
	}
}

// nextInstant returns the wall-clock time of the first simulated sampling
// instant after now.
func (p *PLC) nextInstant(now time.Time) time.Time {
	t := (p.clock.Sim(now)/p.cfg.Period + 1) * p.cfg.Period
	return p.clock.Start.Add(p.clock.Wall(t))
}

// Asset returns the latest values of asset i in sim.Features order, its
// simulated seconds to failure and whether it is failed.
func (p *PLC) Asset(i int) (values [sim.NumFeatures]float64, ttf float64, failed bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	a := p.assets[i]
	return a.values, a.ttf, a.failed
}

// Run serves Modbus and OPC UA and updates the values until ctx ends. It
// returns an error if a server cannot start.
func (p *PLC) Run(ctx context.Context) error {
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	if p.cfg.Modbus != "" {
		stop, err := p.serveModbus()
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	if p.cfg.OPCUA != "" {
		stop, err := p.serveOPCUA(ctx)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	// Update on the simulated sampling instants (plus a margin against
	// rounding), so that a value is served from its instant on and a
	// poller's read time tells when it was sampled, also after a restart
	// with the same Start.
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(time.Until(p.nextInstant(time.Now()).Add(time.Millisecond))):
		p.update(time.Now())
	}
	tick := time.NewTicker(p.period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			p.update(now)
			if p.ua != nil {
				p.ua.notify()
			}
		}
	}
}
