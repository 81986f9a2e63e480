package assets

import "testing"

func TestAlertHysteresis(t *testing.T) {
	th := Thresholds{Warn: 0.25, Alarm: 0.5, K: 3}
	tests := []struct {
		name   string
		p      []float64
		states string // one letter per window: o, w, a
	}{
		{"stays ok below warn", []float64{0.1, 0.2, 0.24, 0.1}, "oooo"},
		{"warn after K", []float64{0.3, 0.3, 0.3, 0.3}, "ooww"},
		{"warn count broken", []float64{0.3, 0.3, 0.2, 0.3, 0.3, 0.3}, "ooooow"},
		{"alarm straight from ok", []float64{0.6, 0.6, 0.6}, "ooa"},
		{"warn then alarm", []float64{0.3, 0.3, 0.3, 0.6, 0.6, 0.6}, "oowwwa"},
		{"alarm holds in the band", []float64{0.6, 0.6, 0.6, 0.4, 0.3, 0.25}, "ooaaaa"},
		{"alarm clears below warn", []float64{0.6, 0.6, 0.6, 0.2}, "ooao"},
		{"warn clears below warn", []float64{0.3, 0.3, 0.3, 0.1, 0.3}, "oowoo"},
		{"re-warn needs K again", []float64{0.3, 0.3, 0.3, 0.1, 0.3, 0.3, 0.3}, "oowooow"},
		{"alarm counts include warn windows", []float64{0.6, 0.6, 0.3, 0.6, 0.6, 0.6}, "oowwwa"},
		{"threshold is inclusive", []float64{0.5, 0.5, 0.5}, "ooa"},
	}
	letter := map[State]byte{StateOK: 'o', StateWarn: 'w', StateAlarm: 'a'}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAlert(th)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(tt.p))
			for i, p := range tt.p {
				s, _ := a.Step(p)
				got[i] = letter[s]
			}
			if string(got) != tt.states {
				t.Errorf("p %v: states %s, want %s", tt.p, got, tt.states)
			}
		})
	}
}

func TestAlertCountsRaisedAlarmsAndChanges(t *testing.T) {
	a, err := NewAlert(Thresholds{Warn: 0.2, Alarm: 0.4, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, p := range []float64{0.5, 0.5, 0.5, 0.1, 0.5, 0.5} {
		if _, changed := a.Step(p); changed {
			changes++
		}
	}
	if a.Raised() != 2 || changes != 3 || a.State() != StateAlarm {
		t.Errorf("raised %d, changes %d, state %s; want 2, 3, alarm", a.Raised(), changes, a.State())
	}
}

func TestThresholdsValidate(t *testing.T) {
	for _, th := range []Thresholds{{0, 0.5, 3}, {0.6, 0.5, 3}, {0.2, 1.5, 3}, {0.2, 0.5, 0}} {
		if _, err := NewAlert(th); err == nil {
			t.Errorf("%+v: no error", th)
		}
	}
}
