package agent

import (
	"testing"
	"time"
)

func TestLatencyRingQuantiles(t *testing.T) {
	var r latencyRing
	if _, _, n := r.quantiles(); n != 0 {
		t.Fatalf("empty ring reports %d latencies", n)
	}
	// 2,000 observations: only the last 512 count. They are 1..512 ms in
	// a shuffled order, after 1,488 of 1s that must have been overwritten.
	for range 2000 - latencyRingSize {
		r.observe(time.Second)
	}
	for i := range latencyRingSize {
		r.observe(time.Duration((i*7919)%latencyRingSize+1) * time.Millisecond)
	}
	p50, p99, n := r.quantiles()
	if n != latencyRingSize || p50 != 256*time.Millisecond || p99 != 507*time.Millisecond {
		t.Fatalf("p50 %v p99 %v n %d, want 256ms 507ms 512", p50, p99, n)
	}
	if allocs := testing.AllocsPerRun(100, func() { r.observe(time.Millisecond) }); allocs != 0 {
		t.Fatalf("observe allocates %v times", allocs)
	}
}

func TestSampleProcess(t *testing.T) {
	a := sampleProcess(t.TempDir())
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) { // burn some CPU
	}
	b := sampleProcess(t.TempDir())
	if b.rss <= 0 || !b.diskOK || b.free == 0 || b.total < b.free {
		t.Fatalf("sample %+v", b)
	}
	if pc := cpuPercent(a, b); pc < 20 || pc > 400 {
		t.Fatalf("cpu %.1f%% while spinning, want about 100%%", pc)
	}
}

func TestDiffConfig(t *testing.T) {
	cur := DefaultConfig()
	cur.Models = map[string]ModelConfig{"defect": {Path: "a.onnx"}, "other": {Path: "b.onnx"}}
	cur.Cameras = []CameraConfig{{Name: "keep", Model: "defect"}, {Name: "gone", Model: "defect"},
		{Name: "fps", Model: "defect", FPS: 5}, {Name: "model", Model: "other"}}
	next := DefaultConfig()
	next.Models = map[string]ModelConfig{"defect": {Path: "a.onnx"}, "other": {Path: "c.onnx"}}
	next.Cameras = []CameraConfig{{Name: "keep", Model: "defect"}, {Name: "fps", Model: "defect", FPS: 10},
		{Name: "model", Model: "other"}, {Name: "new", Model: "defect"}}
	next.MQTT.Broker = "tcp://elsewhere:1883"
	r := diffConfig(cur, next)
	want := ReloadResult{Added: []string{"new"}, Removed: []string{"gone"}, Restarted: []string{"fps", "model"},
		Unchanged: []string{"keep"}, RestartRequired: []string{"mqtt"}}
	if !equalLists(r.Added, want.Added) || !equalLists(r.Removed, want.Removed) || !equalLists(r.Restarted, want.Restarted) ||
		!equalLists(r.Unchanged, want.Unchanged) || !equalLists(r.RestartRequired, want.RestartRequired) {
		t.Fatalf("diff %+v, want %+v", r, want)
	}
}

func equalLists(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
