// Package sim simulates shop-floor machines that run to failure, for the
// demo's simulated sensors and for the training data of the pdm-lstm model.
//
// An asset of kind motor, bearing or pump lives a sequence of lives: a
// healthy phase, a degradation that accelerates towards a known failure
// time, a repair downtime, then a new life of random length. Operating
// regimes (load and speed set-points) switch every few hours and move
// current, temperature and speed legitimately; the ambient temperature
// follows a daily cycle; sensors add noise and occasionally drop out.
//
// Everything is a pure function of (seed, asset index, simulated time), so
// a Machine sampled at the same instants always yields the same values,
// whether it is stepped in real time by the agent or swept by
// WritePdmDataset. The same code therefore feeds the demo and the training
// data, and a model trained on one seed can be evaluated on fresh ones.
//
// A sim:// URL (see Config and ParseURL) selects one machine and its pace
// (Clock) for the agent's simulated sensor source; WritePdmDataset writes
// training windows and whole-life evaluation sequences for the pdm-lstm
// model.
package sim

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// NumFeatures is the number of values in every Sample.
const NumFeatures = 4

// Features names the values of a Sample in order; it is the
// lineside.features contract of the pdm-lstm model.
var Features = [NumFeatures]string{"vibration_rms", "temperature", "current", "speed"}

// Units gives the unit of each feature in Features order.
var Units = [NumFeatures]string{"mm/s", "°C", "A", "rpm"}

// Indices of the features within Sample.Values.
const (
	Vibration = iota
	Temperature
	Current
	Speed
)

// Sample is one reading of all sensors of an asset.
type Sample struct {
	// T is the simulated time since the machine's start.
	T time.Duration
	// Values holds the features in Features order; NaN marks a dropout.
	Values [NumFeatures]float64
	// Missing is true when the whole sample is lost (sensor offline), so a
	// source may emit nothing at all for this instant.
	Missing bool
	// Failed is true from the failure instant until the repair is done.
	Failed bool
	// TimeToFailure is the time left until the current life fails; zero
	// while Failed.
	TimeToFailure time.Duration
	// Life is the index of the current life, counting from 0; during a
	// repair it is the life that has just failed.
	Life int
	// Regime is the index of the operating regime in force.
	Regime int
	// Health is the ground-truth degradation index, 0 when healthy and 1 at
	// failure.
	Health float64
}

// Default values of the duration fields of Options, used when a field is zero.
const (
	DefaultMinLife     = 3 * 24 * time.Hour
	DefaultMaxLife     = 14 * 24 * time.Hour
	DefaultRepairTime  = 2 * time.Hour
	DefaultRegimeEvery = 3 * time.Hour
)

// Options tune a simulated machine. The zero value is a noiseless machine
// that never changes regime and never drops out, with default life lengths;
// DefaultOptions gives the settings the demo and the training data use.
type Options struct {
	// Noise scales the sensor noise: 0 is noiseless, 1 is a typical
	// industrial sensor. Must be in [0, 10].
	Noise float64
	// RegimeMix scales how far operating regimes move away from full load
	// at rated speed: 0 keeps the machine at one regime, 1 uses the full
	// range (load 35–100 %, speed set-point 60–100 %). Must be in [0, 1].
	RegimeMix float64
	// DropoutRate is the long-run share of samples with at least one
	// missing value; half are isolated NaN samples, half are five-minute
	// sensor outages. Must be in [0, 0.5].
	DropoutRate float64
	// MinLife and MaxLife bound the uniformly drawn length of a life, from
	// repair to failure. Defaults 3 and 14 days; MinLife must be at least
	// one hour.
	MinLife, MaxLife time.Duration
	// RepairTime is the downtime after a failure. Default 2 h.
	RepairTime time.Duration
	// RegimeEvery is the mean time between regime changes (exponentially
	// distributed, at least 20 minutes apart). Default 3 h.
	RegimeEvery time.Duration
}

// DefaultOptions returns the settings of the demo and of the reference
// training data: typical noise, the full regime range and 0.2 % dropouts.
func DefaultOptions() Options {
	return Options{Noise: 1, RegimeMix: 1, DropoutRate: 0.002}
}

// withDefaults fills zero durations with their defaults.
func (o Options) withDefaults() Options {
	if o.MinLife == 0 {
		o.MinLife = DefaultMinLife
	}
	if o.MaxLife == 0 {
		o.MaxLife = max(DefaultMaxLife, o.MinLife)
	}
	if o.RepairTime == 0 {
		o.RepairTime = DefaultRepairTime
	}
	if o.RegimeEvery == 0 {
		o.RegimeEvery = DefaultRegimeEvery
	}
	return o
}

// Validate reports the first option out of range, naming it and its value.
func (o Options) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(o.Noise) || o.Noise < 0 || o.Noise > 10:
		return fmt.Errorf("sim: noise %v: must be in [0, 10]", o.Noise)
	case bad(o.RegimeMix) || o.RegimeMix < 0 || o.RegimeMix > 1:
		return fmt.Errorf("sim: regime mix %v: must be in [0, 1]", o.RegimeMix)
	case bad(o.DropoutRate) || o.DropoutRate < 0 || o.DropoutRate > 0.5:
		return fmt.Errorf("sim: dropout rate %v: must be in [0, 0.5]", o.DropoutRate)
	case o.MinLife < 0 || o.MaxLife < 0 || o.RepairTime < 0 || o.RegimeEvery < 0:
		return fmt.Errorf("sim: durations must not be negative (min life %v, max life %v, repair %v, regime every %v)",
			o.MinLife, o.MaxLife, o.RepairTime, o.RegimeEvery)
	}
	d := o.withDefaults()
	if d.MinLife < time.Hour {
		return fmt.Errorf("sim: min life %v: must be at least 1h", d.MinLife)
	}
	if d.MaxLife < d.MinLife {
		return fmt.Errorf("sim: max life %v: must not be below min life %v", d.MaxLife, d.MinLife)
	}
	if d.RegimeEvery < time.Minute {
		return fmt.Errorf("sim: regime every %v: must be at least 1m", d.RegimeEvery)
	}
	return nil
}

// kind holds the nameplate of one kind of asset.
type kind struct {
	speed                    float64       // rated speed, rpm
	slip                     float64       // fractional speed drop at full load
	currentIdle, currentFull float64       // A at no load and at full load
	tempRise                 float64       // °C above ambient at full load
	vib                      float64       // healthy vibration RMS at rated speed, mm/s
	tau                      time.Duration // thermal time constant
}

var kinds = map[string]kind{
	"motor":   {speed: 1480, slip: 0.02, currentIdle: 6, currentFull: 18, tempRise: 35, vib: 1.8, tau: 25 * time.Minute},
	"bearing": {speed: 2950, slip: 0.01, currentIdle: 3, currentFull: 9, tempRise: 25, vib: 1.1, tau: 15 * time.Minute},
	"pump":    {speed: 2960, slip: 0.015, currentIdle: 10, currentFull: 32, tempRise: 30, vib: 2.8, tau: 30 * time.Minute},
}

// Kinds returns the known asset kinds, sorted.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func lookupKind(name string) (kind, error) {
	k, ok := kinds[name]
	if !ok {
		return kind{}, fmt.Errorf("sim: unknown asset kind %q (known: %s)", name, strings.Join(Kinds(), ", "))
	}
	return k, nil
}
