package simsrc

import (
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srctest"
	"github.com/lineside/lineside/sensors/sim"
)

func points() []sensors.PointConfig {
	var ps []sensors.PointConfig
	for _, f := range sim.Features {
		ps = append(ps, sensors.PointConfig{Name: "m1." + f, Address: f})
	}
	return ps
}

func build(t *testing.T, raw string, ps []sensors.PointConfig) (*Source, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sensors.NewSource(u.String(), sensors.Options{Name: "sim1", Points: ps})
	if err != nil {
		return nil, err
	}
	return s.(*Source), nil
}

func TestSamplesFollowTheMachine(t *testing.T) {
	const raw = "sim://pump?seed=3&asset=2&speed=36000&period=2m&dropout=0.3"
	src, err := build(t, raw, points())
	if err != nil {
		t.Fatal(err)
	}
	rec := &srctest.Recorder{}
	srctest.Start(t, src, rec)
	srctest.Wait(t, 10*time.Second, "80 samples", func() bool { return len(rec.Samples("m1.speed")) >= 80 })

	m, err := sim.NewMachine("pump", 3, 2, src.Config().Options)
	if err != nil {
		t.Fatal(err)
	}
	var dropouts int
	for f, name := range sim.Features {
		got := rec.Samples("m1." + name)[:80]
		for j, s := range got {
			want := m.SampleAt(time.Duration(j+1) * 2 * time.Minute)
			switch {
			case want.Missing || math.IsNaN(want.Values[f]):
				dropouts++
				if !errors.Is(s.Err, sensors.ErrDropout) {
					t.Fatalf("%s sample %d: %+v, want a dropout", name, j, s)
				}
			case s.Err != nil || s.Value != want.Values[f]:
				t.Fatalf("%s sample %d: %+v, want %v", name, j, s, want.Values[f])
			}
			if j > 0 {
				if d := s.Time.Sub(got[j-1].Time); d < 3*time.Millisecond || d > 4*time.Millisecond {
					t.Fatalf("%s: samples %v apart, want 2m/36000", name, d)
				}
			}
		}
	}
	if dropouts == 0 {
		t.Fatal("no dropout in 320 readings at a 30 % dropout rate")
	}
	if h := src.Health(); h.State != sensors.StateConnected || h.ReadErrors != uint64(len(rec.Bad("", sensors.ErrDropout))) {
		t.Errorf("health %+v", h)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		url    string
		points []sensors.PointConfig
		want   string
	}{
		{"sim://lathe", points(), "unknown asset kind"},
		{"sim://motor?sped=2", points(), `"sped": unknown`},
		{"sim://motor", nil, "no points"},
		{"sim://motor", []sensors.PointConfig{{Name: "x", Address: "pressure"}}, `point "x": address "pressure"`},
		{"sim://motor", []sensors.PointConfig{{Name: "x", Address: "speed", Options: map[string]string{"fieled": "a"}}},
			`option "fieled": unknown`},
	}
	for _, c := range cases {
		_, err := build(t, c.url, c.points)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `source "sim1"`) {
			t.Errorf("%s: error %v, want %q", c.url, err, c.want)
		}
	}
}
