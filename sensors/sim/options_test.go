package sim

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	with := func(f func(*Options)) Options {
		o := DefaultOptions()
		f(&o)
		return o
	}
	cases := []struct {
		name string
		o    Options
		want string // substring of the error; empty for valid
	}{
		{"defaults", DefaultOptions(), ""},
		{"zero value", Options{}, ""},
		{"negative noise", with(func(o *Options) { o.Noise = -1 }), "noise -1"},
		{"nan noise", with(func(o *Options) { o.Noise = math.NaN() }), "noise NaN"},
		{"regime mix above 1", with(func(o *Options) { o.RegimeMix = 1.5 }), "regime mix 1.5"},
		{"dropout too high", with(func(o *Options) { o.DropoutRate = 0.6 }), "dropout rate 0.6"},
		{"negative repair", with(func(o *Options) { o.RepairTime = -time.Hour }), "must not be negative"},
		{"short life", with(func(o *Options) { o.MinLife = 30 * time.Minute }), "min life 30m0s"},
		{"max below min", with(func(o *Options) { o.MinLife, o.MaxLife = 48*time.Hour, 24*time.Hour }), "max life 24h0m0s"},
		{"regimes too fast", with(func(o *Options) { o.RegimeEvery = time.Second }), "regime every 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.o.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
			if _, err := NewMachine("motor", 1, 0, c.o); err == nil {
				t.Fatal("NewMachine accepted invalid options")
			}
		})
	}
}

func TestNewMachineErrors(t *testing.T) {
	_, err := NewMachine("fan", 1, 0, DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), `"fan"`) || !strings.Contains(err.Error(), "bearing, motor, pump") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := NewMachine("motor", 1, -1, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "asset index -1") {
		t.Errorf("negative index: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		url  string
		want string // substring of the error; empty for valid
	}{
		{"sim://motor", ""},
		{"sim:pump?seed=3", ""},
		{"sim://bearing?seed=-4&asset=2&speed=60&period=10s&noise=0.5&regime_mix=0&dropout=0.01&min_life=24h&max_life=48h&repair=30m&regime_every=1h", ""},
		{"sim://fan", `unknown asset kind "fan"`},
		{"sim://motor?nosie=1", `url parameter "nosie": unknown`},
		{"sim://motor?seed=x", "url parameter seed=\"x\""},
		{"sim://motor?seed=1&seed=2", "given 2 times"},
		{"sim://motor?speed=0", "speed 0"},
		{"sim://motor?speed=NaN", "not a finite number"},
		{"sim://motor?period=-1s", "period -1s"},
		{"sim://motor?asset=-1", "asset -1"},
		{"sim://motor?noise=-2", "noise -2"},
		{"sim://motor/extra", "unexpected path"},
		{"modbus://motor", `scheme "modbus"`},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			u, err := url.Parse(c.url)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseURL(u)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := cfg.Machine(); err != nil {
					t.Fatalf("machine: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
	u, _ := url.Parse("sim://bearing?seed=-4&asset=2&speed=60&period=10s&noise=0.5&dropout=0.01&min_life=24h")
	cfg, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Kind: "bearing", Seed: -4, Asset: 2, Speed: 60, Period: 10 * time.Second,
		Options: Options{Noise: 0.5, RegimeMix: 1, DropoutRate: 0.01, MinLife: 24 * time.Hour}}
	if cfg != want {
		t.Errorf("parsed %+v, want %+v", cfg, want)
	}
	if d, _ := ParseURL(&url.URL{Scheme: "sim", Host: "motor"}); d.Speed != DefaultSpeed || d.Period != DefaultPeriod || d.Seed != 1 {
		t.Errorf("defaults %+v", d)
	}
}
