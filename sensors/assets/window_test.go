package assets

import (
	"math"
	"testing"
	"time"
)

// epoch is a grid instant for a 2-minute period and a 10-minute stride.
var epoch = time.Unix(1_700_000_400, 0).UTC()

func newTestWindower(t *testing.T, spec Spec) *Windower {
	t.Helper()
	w, err := NewWindower(spec)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// feed adds one reading of every feature at at, value vals[f] (NaN: a
// failed reading), advances, and returns the windows that fell due with
// their contents.
func feed(w *Windower, at time.Time, vals ...float64) (dues []Due, windows [][]float32) {
	for f, v := range vals {
		w.Add(f, at, v, !math.IsNaN(v))
	}
	w.Advance(at, func(d Due) {
		dues = append(dues, d)
		buf := make([]float32, w.spec.Window*w.spec.Features)
		w.Fill(buf)
		windows = append(windows, buf)
	})
	return dues, windows
}

func TestWindowAlignsOnGridWithHoldLast(t *testing.T) {
	w := newTestWindower(t, Spec{Features: 1, Period: 2 * time.Minute, Window: 3, Stride: 2 * time.Minute, Tolerance: 10 * time.Minute})
	// Readings every 50 s, value = seconds since epoch; the row of each grid
	// instant holds the last reading at or before it.
	var got []float32
	for s := 0; s <= 600; s += 50 {
		_, wins := feed(w, epoch.Add(time.Duration(s)*time.Second), float64(s))
		for _, win := range wins {
			got = append(got, win[len(win)-1])
		}
	}
	want := []float32{0, 100, 200, 350, 450} // grid 0, 120, 240, 360, 480 s
	if len(got) < len(want) {
		t.Fatalf("rows %v, want at least %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %v, want %v (all rows %v)", i, got[i], want[i], got)
		}
	}
}

func TestWindowToleranceAndGap(t *testing.T) {
	spec := Spec{Features: 2, Period: 2 * time.Minute, Window: 30, Stride: 10 * time.Minute, Tolerance: 10 * time.Minute}
	w := newTestWindower(t, spec)
	var all []Due
	step := func(i int, a, b float64) {
		d, _ := feed(w, epoch.Add(time.Duration(i)*spec.Period), a, b)
		all = append(all, d...)
	}
	i := 0
	for ; i < 40; i++ {
		step(i, 1, 2)
	}
	// Feature 1 drops out for 5 samples: held for 10 min, within tolerance.
	for ; i < 45; i++ {
		step(i, 1, math.NaN())
	}
	for ; i < 60; i++ {
		step(i, 1, 2)
	}
	// Then for 6 samples: a gap.
	for ; i < 66; i++ {
		step(i, 1, math.NaN())
	}
	for ; i < 120; i++ {
		step(i, 1, 2)
	}
	var ready, insufficient []int
	for _, d := range all {
		idx := int(d.End.Sub(epoch) / spec.Period)
		if idx%5 != 0 {
			t.Errorf("window due at sample %d, not a stride multiple", idx)
		}
		if d.Ready {
			ready = append(ready, idx)
			continue
		}
		insufficient = append(insufficient, idx)
		if idx >= 29 && d.Missing != 0b10 {
			t.Errorf("window ending at %d: missing mask %b, want feature 1", idx, d.Missing)
		}
	}
	// Windows end at 0, 5, ... 115; the first full one ends at 29 → 30.
	// The gap row is sample 65 only (age 12 min); windows containing it
	// end at 65..94.
	for _, idx := range ready {
		if idx < 29 || (idx >= 65 && idx <= 94) {
			t.Errorf("window ending at %d inferred; want insufficient", idx)
		}
	}
	for _, idx := range insufficient {
		if idx >= 29 && !(idx >= 65 && idx <= 94) {
			t.Errorf("window ending at %d insufficient; want ready", idx)
		}
	}
	if len(ready) != 12 || len(insufficient) != 12 {
		t.Errorf("%d ready %v, %d insufficient %v; want 12 and 12", len(ready), ready, len(insufficient), insufficient)
	}
}

func TestWindowNormalisesAndOrdersOldestFirst(t *testing.T) {
	spec := Spec{Features: 2, Period: time.Minute, Window: 4, Stride: 4 * time.Minute, Tolerance: time.Minute,
		Mean: []float64{10, -1}, Std: []float64{2, 0.5}}
	w := newTestWindower(t, spec)
	start := time.Unix(1_700_000_160, 0) // a multiple of 4 minutes
	var win []float32
	for i := 0; i < 9; i++ {
		_, wins := feed(w, start.Add(time.Duration(i)*time.Minute), float64(10+2*i), float64(-1+0.5*float64(i)))
		if len(wins) > 0 {
			win = wins[len(wins)-1]
		}
	}
	// The last window, due at sample 8, holds samples 5..8; both features
	// normalise to the sample's index.
	want := []float32{5, 5, 6, 6, 7, 7, 8, 8}
	for i := range want {
		if win[i] != want[i] {
			t.Fatalf("window %v, want %v", win, want)
		}
	}
}

func TestWindowSilentFeatureIsFinalisedByTheClock(t *testing.T) {
	spec := Spec{Features: 2, Period: time.Minute, Window: 2, Stride: time.Minute, Tolerance: 90 * time.Second}
	w := newTestWindower(t, spec)
	start := time.Unix(1_700_000_040, 0)
	var dues []Due
	for i := 0; i < 6; i++ {
		at := start.Add(time.Duration(i) * time.Minute)
		w.Add(0, at, 1, true)
		if i < 2 {
			w.Add(1, at, 1, true) // feature 1's source dies after sample 1
		}
		// The clock comes from other sources, half a period on.
		w.Advance(at.Add(30*time.Second), func(d Due) { dues = append(dues, d) })
	}
	if len(dues) != 6 {
		t.Fatalf("%d windows due, want 6 (the clock must finalise rows without feature 1)", len(dues))
	}
	if !dues[1].Ready || !dues[2].Ready {
		t.Errorf("windows 1, 2: ready %v %v; want ready (feature 1 held within 90s)", dues[1].Ready, dues[2].Ready)
	}
	if dues[4].Ready || dues[4].Missing != 0b10 {
		t.Errorf("window 4: ready %v missing %b; want a gap in feature 1", dues[4].Ready, dues[4].Missing)
	}
}

func TestSpecValidate(t *testing.T) {
	bad := []Spec{
		{Features: 0, Period: time.Second, Window: 1},
		{Features: 1, Period: 0, Window: 1},
		{Features: 1, Period: time.Second, Window: 0},
		{Features: 2, Period: time.Second, Window: 1, Mean: []float64{1}},
		{Features: 1, Period: time.Second, Window: 1, Std: []float64{0}},
	}
	for i, s := range bad {
		if _, err := NewWindower(s); err == nil {
			t.Errorf("spec %d %+v: no error", i, s)
		}
	}
}
