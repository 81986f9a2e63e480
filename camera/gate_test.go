package camera

import (
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// feed runs n frames captured every interval through g and returns how many
// were admitted.
func feed(t *testing.T, g *Gate, start time.Time, n int, interval time.Duration) int {
	t.Helper()
	f := &Frame{Mat: gocv.NewMat()}
	defer f.Mat.Close()
	passed := 0
	for i := 1; i <= n; i++ {
		f.Seq = uint64(i)
		f.Time = start.Add(time.Duration(i-1) * interval)
		if g.Admit(f) {
			passed++
		}
	}
	return passed
}

func TestGateCountsEveryNthAndRate(t *testing.T) {
	const frames = 300 // 10 s at 30 fps
	tests := []struct {
		name                  string
		cfg                   GateConfig
		want, wantNth, wantRt uint64
	}{
		{"default passes all", GateConfig{}, frames, 0, 0},
		{"every_nth 1", GateConfig{EveryNth: 1}, frames, 0, 0},
		{"every_nth 3", GateConfig{EveryNth: 3}, 100, 200, 0},
		{"max_rate 5 of 30 fps", GateConfig{MaxRate: 5}, 50, 0, 250},
		{"max_rate above fps", GateConfig{MaxRate: 100}, frames, 0, 0},
		{"every_nth 2 then max_rate 5", GateConfig{EveryNth: 2, MaxRate: 5}, 50, 150, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGate(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			interval := time.Second / 30
			got := feed(t, g, time.Now(), frames, interval)
			if uint64(got) != tt.want || g.Passed() != tt.want {
				t.Fatalf("admitted %d (Passed %d), want %d", got, g.Passed(), tt.want)
			}
			if n := g.Skipped(SkipEveryNth); n != tt.wantNth {
				t.Errorf("skipped every_nth %d, want %d", n, tt.wantNth)
			}
			if n := g.Skipped(SkipRate); n != tt.wantRt {
				t.Errorf("skipped rate %d, want %d", n, tt.wantRt)
			}
			var sum uint64
			for _, r := range SkipReasons() {
				sum += g.Skipped(r)
			}
			if sum+g.Passed() != frames {
				t.Errorf("skipped %d + passed %d != %d frames: some frames are unaccounted for", sum, g.Passed(), frames)
			}
		})
	}
}

func TestGateRateToleratesJitterWithoutBursts(t *testing.T) {
	g, _ := NewGate(GateConfig{MaxRate: 10})
	defer g.Close()
	f := &Frame{Mat: gocv.NewMat()}
	defer f.Mat.Close()
	t0 := time.Now()
	admitted := 0
	for i := 0; i < 100; i++ { // 10 fps with ±4 ms jitter: all fit a 10/s limit
		f.Seq = uint64(i + 1)
		f.Time = t0.Add(time.Duration(i)*100*time.Millisecond + time.Duration((i%3)-1)*4*time.Millisecond)
		if g.Admit(f) {
			admitted++
		}
	}
	if admitted < 95 {
		t.Fatalf("admitted %d of 100 frames at the limit rate", admitted)
	}
	// After an idle spell, a burst of frames 1 ms apart gets one through, not two.
	f.Time = t0.Add(time.Minute)
	if !g.Admit(f) {
		t.Fatal("first frame after idle not admitted")
	}
	f.Time = f.Time.Add(time.Millisecond)
	if g.Admit(f) {
		t.Fatal("second frame 1ms later admitted: idle time turned into a burst")
	}
}

func TestGateTriggerWindow(t *testing.T) {
	g, err := NewGate(GateConfig{Triggered: true, TriggerWindow: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f := &Frame{Seq: 1, Time: time.Now(), Mat: gocv.NewMat()}
	defer f.Mat.Close()
	if g.Admit(f) {
		t.Fatal("frame admitted before any trigger")
	}
	g.Trigger()
	f.Time = time.Now()
	if !g.Admit(f) {
		t.Fatal("frame right after the trigger not admitted")
	}
	before := f.Time.Add(-time.Second)
	f.Time = before
	if g.Admit(f) {
		t.Fatal("frame captured before the trigger admitted")
	}
	f.Time = time.Now().Add(300 * time.Millisecond)
	if g.Admit(f) {
		t.Fatal("frame after the window admitted")
	}
	if n := g.Skipped(SkipTrigger); n != 3 {
		t.Fatalf("skipped trigger %d, want 3", n)
	}

	plain, _ := NewGate(GateConfig{})
	defer plain.Close()
	plain.Trigger() // no-op
	if plain.Triggered() || !plain.Admit(f) {
		t.Fatal("a gate without trigger mode must admit every frame")
	}
}

func TestNewGateRejectsBadConfig(t *testing.T) {
	for _, cfg := range []GateConfig{
		{EveryNth: -1},
		{MaxRate: -1},
		{TriggerWindow: -time.Second},
		{Motion: MotionConfig{Enabled: true, Threshold: 0, MinArea: 0.01}},
		{Motion: MotionConfig{Enabled: true, Threshold: 25, MinArea: 1.5}},
	} {
		if g, err := NewGate(cfg); err == nil {
			g.Close()
			t.Errorf("NewGate(%+v) accepted", cfg)
		}
	}
	if SkipMotion.String() != "motion" || SkipEveryNth.String() != "every_nth" || SkipReason(9).String() != "skip(9)" {
		t.Fatal("skip reason names")
	}
}
