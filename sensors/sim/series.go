package sim

import (
	"fmt"
	"math"
	"time"
)

// AssetKind returns the kind of asset number i in a simulated fleet: the
// kinds take turns in the order motor, bearing, pump.
func AssetKind(i int) string { return fleetKinds[i%len(fleetKinds)] }

var fleetKinds = [...]string{"motor", "bearing", "pump"}

// series is one life sampled on a fixed grid: sample j is taken at
// life.Start + j·period, for every grid instant before the failure.
type series struct {
	life Life
	n    int
	raw  []float32 // n×NumFeatures, NaN for dropouts
	fill []float32 // raw with each NaN replaced by the channel's last value
	ttf  []float32 // hours to failure at each sample
	// bad counts, as a prefix sum, the samples whose hold-last value is
	// older than the gap tolerance (or absent) on any channel.
	bad []int32
}

// sampleLife samples life l of m every period and applies hold-last with a
// gap tolerance of maxGap samples.
func sampleLife(m *Machine, l Life, period time.Duration, maxGap int) *series {
	n := int((l.Failure - l.Start + period - 1) / period)
	s := &series{
		life: l, n: n,
		raw:  make([]float32, n*NumFeatures),
		fill: make([]float32, n*NumFeatures),
		ttf:  make([]float32, n),
		bad:  make([]int32, n+1),
	}
	var last [NumFeatures]float32
	var age [NumFeatures]int
	for c := range age {
		age[c] = math.MaxInt32
	}
	for j := 0; j < n; j++ {
		t := l.Start + time.Duration(j)*period
		smp := m.SampleAt(t)
		s.ttf[j] = float32((l.Failure - t).Hours())
		gap := false
		for c, v := range smp.Values {
			s.raw[j*NumFeatures+c] = float32(v)
			if !math.IsNaN(v) {
				last[c], age[c] = float32(v), 0
			} else if age[c] < math.MaxInt32 {
				age[c]++
			}
			if age[c] == math.MaxInt32 {
				s.fill[j*NumFeatures+c] = float32(math.NaN())
			} else {
				s.fill[j*NumFeatures+c] = last[c]
			}
			gap = gap || age[c] > maxGap
		}
		s.bad[j+1] = s.bad[j]
		if gap {
			s.bad[j+1]++
		}
	}
	return s
}

// valid reports whether the window of w samples ending at sample e lies in
// the life and has no gap beyond the tolerance.
func (s *series) valid(e, w int) bool {
	return e >= w-1 && e < s.n && s.bad[e+1]-s.bad[e+1-w] == 0
}

// window appends the hold-last filled window of w samples ending at e.
func (s *series) window(dst []float32, e, w int) []float32 {
	return append(dst, s.fill[(e+1-w)*NumFeatures:(e+1)*NumFeatures]...)
}

// optionsJSON is how a dataset's meta.json records the machine options.
type optionsJSON struct {
	Noise        float64 `json:"noise"`
	RegimeMix    float64 `json:"regime_mix"`
	DropoutRate  float64 `json:"dropout_rate"`
	MinLifeH     float64 `json:"min_life_h"`
	MaxLifeH     float64 `json:"max_life_h"`
	RepairH      float64 `json:"repair_h"`
	RegimeEveryH float64 `json:"regime_every_h"`
}

func toOptionsJSON(o Options) optionsJSON {
	o = o.withDefaults()
	return optionsJSON{
		Noise: o.Noise, RegimeMix: o.RegimeMix, DropoutRate: o.DropoutRate,
		MinLifeH: o.MinLife.Hours(), MaxLifeH: o.MaxLife.Hours(),
		RepairH: o.RepairTime.Hours(), RegimeEveryH: o.RegimeEvery.Hours(),
	}
}

// fleet builds the Assets machines of a dataset.
func fleet(o DatasetOptions) ([]*Machine, []string, error) {
	ms := make([]*Machine, o.Assets)
	names := make([]string, o.Assets)
	for i := range ms {
		names[i] = AssetKind(i)
		m, err := NewMachine(names[i], o.Seed, i, o.Options)
		if err != nil {
			return nil, nil, fmt.Errorf("sim: asset %d: %w", i, err)
		}
		ms[i] = m
	}
	return ms, names, nil
}
