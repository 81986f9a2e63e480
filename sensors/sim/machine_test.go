package sim

import (
	"math"
	"testing"
	"time"
)

func sameSample(a, b Sample) bool {
	for i := range a.Values {
		x, y := a.Values[i], b.Values[i]
		if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	a.Values, b.Values = [NumFeatures]float64{}, [NumFeatures]float64{}
	return a == b
}

func mustMachine(t *testing.T, kind string, seed int64, index int, o Options) *Machine {
	t.Helper()
	m, err := NewMachine(kind, seed, index, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeterministic(t *testing.T) {
	o := DefaultOptions()
	o.DropoutRate = 0.05
	a := mustMachine(t, "pump", 42, 3, o)
	b := mustMachine(t, "pump", 42, 3, o)
	var steps []Sample
	for range 20000 {
		sa, sb := a.Step(time.Minute), b.Step(time.Minute)
		if !sameSample(sa, sb) {
			t.Fatalf("same seed differs at %v: %+v vs %+v", sa.T, sa, sb)
		}
		steps = append(steps, sa)
	}
	// Random access agrees with stepping, in any order and on a fresh machine.
	c := mustMachine(t, "pump", 42, 3, o)
	for i := len(steps) - 1; i >= 0; i -= 997 {
		if got := c.SampleAt(steps[i].T); !sameSample(got, steps[i]) {
			t.Fatalf("SampleAt(%v) = %+v, Step gave %+v", steps[i].T, got, steps[i])
		}
	}
	other := mustMachine(t, "pump", 42, 4, o)
	if sameSample(other.SampleAt(steps[10].T), steps[10]) {
		t.Fatal("asset 4 reads the same as asset 3")
	}
	if a.Life(0) == mustMachine(t, "pump", 43, 3, o).Life(0) {
		t.Fatal("seed 43 draws the same life as seed 42")
	}
}

func TestDegradationVisible(t *testing.T) {
	worse := 0
	var ratios float64
	lives := 0
	for i, kind := range Kinds() {
		m := mustMachine(t, kind, 7, i, DefaultOptions())
		for li := range 6 {
			l := m.Life(li)
			var early, late []float64
			for t0 := l.Start; t0 < l.Failure; t0 += 5 * time.Minute {
				v := m.SampleAt(t0).Values[Vibration]
				if math.IsNaN(v) {
					continue
				}
				x := float64(t0-l.Start) / float64(l.Failure-l.Start)
				if x < 0.5 {
					early = append(early, v)
				} else if x >= 0.9 {
					late = append(late, v)
				}
			}
			e, la := mean(early), mean(late)
			if la > e {
				worse++
			}
			ratios += la / e
			lives++
		}
	}
	if worse != lives {
		t.Errorf("vibration rose towards failure in %d of %d lives", worse, lives)
	}
	if r := ratios / float64(lives); r < 1.5 {
		t.Errorf("mean late/early vibration ratio %.2f, want ≥ 1.5", r)
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestFailureAtKnownTime(t *testing.T) {
	o := DefaultOptions()
	o.DropoutRate = 0
	m := mustMachine(t, "motor", 1, 0, o)
	for i := range 10 {
		l := m.Life(i)
		if d := l.Failure - l.Start; d < DefaultMinLife || d > DefaultMaxLife {
			t.Errorf("life %d lasts %v", i, d)
		}
		if !(l.Start <= l.Onset && l.Onset < l.Failure) {
			t.Errorf("life %d: onset %v outside [%v, %v)", i, l.Onset, l.Start, l.Failure)
		}
		before := m.SampleAt(l.Failure - time.Second)
		if before.Failed || before.TimeToFailure != time.Second || before.Life != i {
			t.Errorf("life %d, 1s before failure: %+v", i, before)
		}
		at := m.SampleAt(l.Failure)
		if !at.Failed || at.TimeToFailure != 0 || at.Life != i || at.Values[Speed] != 0 {
			t.Errorf("life %d at failure: %+v", i, at)
		}
		after := m.SampleAt(l.Failure + DefaultRepairTime)
		if after.Failed || after.Life != i+1 || after.TimeToFailure != m.Life(i+1).Failure-after.T {
			t.Errorf("life %d after repair: %+v", i, after)
		}
		if mid := m.SampleAt(l.Onset - time.Minute); mid.Health != 0 {
			t.Errorf("life %d: health %v before onset", i, mid.Health)
		}
	}
}

func TestRegimeChanges(t *testing.T) {
	count := func(o Options) (changes int, lo, hi float64) {
		m := mustMachine(t, "bearing", 5, 1, o)
		last, lo, hi := -1, math.Inf(1), math.Inf(-1)
		for range 3 * 24 * 60 {
			s := m.Step(time.Minute)
			if last >= 0 && s.Regime != last {
				changes++
			}
			last = s.Regime
			if !s.Failed && !math.IsNaN(s.Values[Speed]) {
				lo, hi = min(lo, s.Values[Speed]), max(hi, s.Values[Speed])
			}
		}
		return changes, lo, hi
	}
	n, lo, hi := count(DefaultOptions())
	if n < 8 || n > 60 {
		t.Errorf("%d regime changes in 3 days, want about 24", n)
	}
	if hi-lo < 500 {
		t.Errorf("speed spans only %.0f–%.0f rpm across regimes", lo, hi)
	}
	o := DefaultOptions()
	o.RegimeMix = 0
	if _, lo, hi := count(o); hi-lo > 100 {
		t.Errorf("regime mix 0: speed spans %.0f–%.0f rpm", lo, hi)
	}
}

func TestDropoutRate(t *testing.T) {
	for _, rate := range []float64{0, 0.01, 0.05} {
		o := DefaultOptions()
		o.DropoutRate = rate
		m := mustMachine(t, "motor", 9, 2, o)
		const n = 200000
		anyNaN, missing, partial := 0, 0, 0
		for range n {
			s := m.Step(time.Minute)
			nan := 0
			for _, v := range s.Values {
				if math.IsNaN(v) {
					nan++
				}
			}
			if nan > 0 {
				anyNaN++
			}
			if s.Missing {
				missing++
			} else if nan > 0 {
				partial++
			}
		}
		got := float64(anyNaN) / n
		if math.Abs(got-rate) > 0.25*rate+0.0005 {
			t.Errorf("rate %v: %.4f of samples have dropouts", rate, got)
		}
		if rate > 0 && (missing == 0 || partial == 0) {
			t.Errorf("rate %v: %d whole-sample and %d single-channel dropouts, want both", rate, missing, partial)
		}
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Clock{Start: start, Speed: 3600}
	if got := c.Sim(start.Add(2 * time.Second)); got != 2*time.Hour {
		t.Errorf("2 s at speed 3600 = %v, want 2h", got)
	}
	if got := c.Sim(start.Add(-time.Second)); got != 0 {
		t.Errorf("before start = %v, want 0", got)
	}
	if got := c.Wall(time.Minute); got != time.Minute/3600 {
		t.Errorf("wall time of 1 simulated minute = %v", got)
	}
}
