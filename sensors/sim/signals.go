package sim

import (
	"math"
	"time"
)

// outageSlot is the length of a sensor outage; outages start on multiples
// of it in simulated time.
const outageSlot = 5 * time.Minute

// driftKnot is the spacing of the slow, smoothly interpolated noise that
// sits on top of the white sensor noise.
const driftKnot = 20 * time.Minute

// SampleAt returns the reading at simulated time t (t ≥ 0). Calling it
// twice for the same t gives the same sample.
func (m *Machine) SampleAt(t time.Duration) Sample {
	t = max(t, 0)
	l := m.LifeAt(t)
	ri := m.regimeAt(t)
	rg, prev := m.regimes[ri], m.regimes[max(ri-1, 0)]
	s := Sample{T: t, Life: l.Index, Regime: ri}
	k, n := m.k, m.o.Noise
	hours := t.Hours()
	amb := m.ambient + 4*math.Sin(2*math.Pi*(hours-9)/24)
	tau := float64(k.tau)
	if t >= l.Failure {
		// Stopped for repair: no speed or current, the casing cools down.
		s.Failed, s.Health = true, 1
		cool := math.Exp(-float64(t-l.Failure) / tau)
		s.Values = [NumFeatures]float64{
			0.03*k.vib + 0.01*n*math.Abs(m.gauss(t, Vibration)),
			amb + (m.thermal(rg)+l.tempGain)*cool + 0.25*n*m.gauss(t, Temperature),
			0.02 * n * math.Abs(m.gauss(t, Current)),
			0,
		}
	} else {
		h := l.health(t)
		s.Health, s.TimeToFailure = h, l.Failure-t
		// The casing follows a regime change with a first-order lag, and
		// warms up from ambient after a repair.
		lag := math.Exp(-float64(t-rg.start) / tau)
		warm := 1 - math.Exp(-float64(t-l.Start)/tau)
		thermal := (m.thermal(rg) + (m.thermal(prev)-m.thermal(rg))*lag) * warm
		load, sf := rg.load, rg.speedFrac
		vib := k.vib * (0.35 + 0.65*sf*sf) * (1 + 0.2*load) * (1 + l.vibGain*h)
		s.Values = [NumFeatures]float64{
			vib * (1 + n*(0.06*m.gauss(t, Vibration)+0.05*m.drift(t, Vibration))),
			amb + thermal + l.tempGain*h + n*(0.25*m.gauss(t, Temperature)+0.4*m.drift(t, Temperature)),
			(k.currentIdle+(k.currentFull-k.currentIdle)*load)*(0.55+0.45*sf)*(1+l.curGain*h) +
				n*k.currentFull*(0.012*m.gauss(t, Current)+0.01*m.drift(t, Current)),
			k.speed*sf*(1-k.slip*load)*(1-0.01*h) + n*k.speed*(0.002*m.gauss(t, Speed)+0.001*m.drift(t, Speed)),
		}
		s.Values[Vibration] = max(s.Values[Vibration], 0.01)
	}
	m.dropouts(&s)
	return s
}

// thermal is the steady-state temperature rise above ambient in a regime.
func (m *Machine) thermal(r regime) float64 {
	return m.k.tempRise * (0.25 + 0.75*math.Pow(r.load, 1.3)) * (0.7 + 0.3*r.speedFrac)
}

// dropouts blanks values: half of DropoutRate as isolated dropouts (mostly
// one NaN channel, sometimes the whole sample), half as whole-sample
// outages lasting one outageSlot.
func (m *Machine) dropouts(s *Sample) {
	rate := m.o.DropoutRate
	if rate == 0 {
		return
	}
	at := uint64(s.T)
	whole := unit(m.key, uint64(s.T/outageSlot), 22) < rate/2
	if !whole && unit(m.key, at, 20) < rate/2 {
		if unit(m.key, at, 21) < 0.3 {
			whole = true
		} else {
			s.Values[int(unit(m.key, at, 23)*NumFeatures)%NumFeatures] = math.NaN()
		}
	}
	if whole {
		s.Missing = true
		for i := range s.Values {
			s.Values[i] = math.NaN()
		}
	}
}

// gauss is standard normal noise for channel ch at instant t.
func (m *Machine) gauss(t time.Duration, ch int) float64 {
	return gaussian(m.key, uint64(t), uint64(ch))
}

// drift is smooth standard normal noise, interpolated between knots.
func (m *Machine) drift(t time.Duration, ch int) float64 {
	i := t / driftKnot
	f := float64(t%driftKnot) / float64(driftKnot)
	a := gaussian(m.key, uint64(i), uint64(ch)+10)
	b := gaussian(m.key, uint64(i+1), uint64(ch)+10)
	w := (1 - math.Cos(math.Pi*f)) / 2
	return a + (b-a)*w
}

// gaussian maps (key, a, salt) to a standard normal value (Box–Muller).
func gaussian(key, a, salt uint64) float64 {
	u1 := 1 - unit(key, a, salt+100)
	u2 := unit(key, a, salt+200)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// unit maps (key, a, salt) to a uniform value in [0, 1).
func unit(key, a, salt uint64) float64 {
	return float64(mix(key^mix(a+salt*0xbf58476d1ce4e5b9))>>11) / (1 << 53)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func expm1(x float64) float64 { return math.Expm1(x) }
