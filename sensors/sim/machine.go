package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Life is one run-to-failure life of an asset.
type Life struct {
	// Index counts lives from 0.
	Index int
	// Start is when the life begins (the end of the previous repair).
	Start time.Duration
	// Onset is when degradation starts; the asset is healthy before it.
	Onset time.Duration
	// Failure is when the asset fails; the repair ends at Failure+RepairTime.
	Failure time.Duration

	shape    float64 // exponential rate of the health index
	vibGain  float64 // extra vibration at failure, in multiples of healthy
	tempGain float64 // extra temperature at failure, °C
	curGain  float64 // extra current at failure, fraction
}

// health is the degradation index at t in [Start, Failure]: 0 before Onset,
// then (e^(k·x) − 1)/(e^k − 1) with x the elapsed share of the degradation
// phase, so it creeps up slowly and accelerates towards 1 at Failure.
func (l *Life) health(t time.Duration) float64 {
	if t <= l.Onset {
		return 0
	}
	x := float64(t-l.Onset) / float64(l.Failure-l.Onset)
	return expm1(l.shape*min(x, 1)) / expm1(l.shape)
}

// regime is one operating set-point, in force from start.
type regime struct {
	start     time.Duration
	load      float64 // share of full load
	speedFrac float64 // speed set-point as share of rated speed
}

// Machine is one simulated asset. Its readings are a pure function of its
// kind, seed, index, options and the simulated time, so SampleAt may be
// called for any instant in any order. A Machine is not safe for
// concurrent use: it extends its life and regime schedules lazily.
type Machine struct {
	kindName string
	k        kind
	o        Options
	key      uint64 // hash key for the noise and dropouts
	ambient  float64
	now      time.Duration

	lifeRNG, regimeRNG *rand.Rand
	lives              []Life
	regimes            []regime
	pendingLen         time.Duration // length of the last regime drawn
}

// NewMachine returns asset number index of the given kind, with all its
// randomness drawn from (seed, index). Kinds lists the valid kind names.
func NewMachine(kindName string, seed int64, index int, o Options) (*Machine, error) {
	k, err := lookupKind(kindName)
	if err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if index < 0 {
		return nil, fmt.Errorf("sim: asset index %d: must not be negative", index)
	}
	key := mix(mix(uint64(seed)) ^ uint64(index)*0x9e3779b97f4a7c15)
	m := &Machine{
		kindName:  kindName,
		k:         k,
		o:         o.withDefaults(),
		key:       key,
		lifeRNG:   rand.New(rand.NewPCG(key, 1)),
		regimeRNG: rand.New(rand.NewPCG(key, 2)),
	}
	m.ambient = 21 + 4*(unit(key, 3, 0)-0.5)
	return m, nil
}

// Kind returns the asset kind name.
func (m *Machine) Kind() string { return m.kindName }

// Options returns the options in force, with defaults filled in.
func (m *Machine) Options() Options { return m.o }

// Now returns the simulated time of the last Step.
func (m *Machine) Now() time.Duration { return m.now }

// Step advances the machine's clock by dt and returns the sample at the new
// time. The first Step(dt) therefore reads at T = dt.
func (m *Machine) Step(dt time.Duration) Sample {
	m.now += dt
	return m.SampleAt(m.now)
}

// Life returns life number i, drawing the schedule up to it if needed.
func (m *Machine) Life(i int) Life {
	for len(m.lives) <= i {
		m.addLife()
	}
	return m.lives[i]
}

// LifeAt returns the life in force at t: the one whose [Start,
// Failure+RepairTime) interval holds t.
func (m *Machine) LifeAt(t time.Duration) Life {
	for len(m.lives) == 0 || m.lives[len(m.lives)-1].Failure+m.o.RepairTime <= t {
		m.addLife()
	}
	i := sort.Search(len(m.lives), func(i int) bool { return m.lives[i].Failure+m.o.RepairTime > t })
	return m.lives[i]
}

func (m *Machine) addLife() {
	r := m.lifeRNG
	var start time.Duration
	if n := len(m.lives); n > 0 {
		start = m.lives[n-1].Failure + m.o.RepairTime
	}
	length := m.o.MinLife + time.Duration(r.Float64()*float64(m.o.MaxLife-m.o.MinLife))
	degrade := time.Duration((0.25 + 0.35*r.Float64()) * float64(length))
	m.lives = append(m.lives, Life{
		Index:    len(m.lives),
		Start:    start,
		Onset:    start + length - degrade,
		Failure:  start + length,
		shape:    3 + 3*r.Float64(),
		vibGain:  2.5 + 2.5*r.Float64(),
		tempGain: 6 + 12*r.Float64(),
		curGain:  0.04 + 0.08*r.Float64(),
	})
}

// regimeAt returns the index of the regime in force at t.
func (m *Machine) regimeAt(t time.Duration) int {
	for len(m.regimes) == 0 || m.regimeEnd(len(m.regimes)-1) <= t {
		m.addRegime()
	}
	return sort.Search(len(m.regimes), func(i int) bool { return m.regimeEnd(i) > t })
}

// regimeEnd is the start of the regime after i; the last one is open ended.
func (m *Machine) regimeEnd(i int) time.Duration {
	if i+1 < len(m.regimes) {
		return m.regimes[i+1].start
	}
	return m.regimes[i].start + m.pendingLen
}

func (m *Machine) addRegime() {
	r := m.regimeRNG
	var start time.Duration
	if n := len(m.regimes); n > 0 {
		start = m.regimes[n-1].start + m.pendingLen
	}
	mix := m.o.RegimeMix
	speedSteps := [...]float64{0.6, 0.75, 0.9, 1}
	m.regimes = append(m.regimes, regime{
		start:     start,
		load:      1 - mix*0.65*r.Float64(),
		speedFrac: 1 - mix*(1-speedSteps[r.IntN(len(speedSteps))]),
	})
	m.pendingLen = max(20*time.Minute, time.Duration(r.ExpFloat64()*float64(m.o.RegimeEvery)))
}
