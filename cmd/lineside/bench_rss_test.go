//go:build bench

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/benchfmt"
	"github.com/lineside/lineside/internal/testutil"
)

// rssGoalMB is the ceiling for the agent's steady resident memory
// with one camera.
const rssGoalMB = 150

// TestBenchAgentRSS runs the lineside binary with one camera (a 640x480
// MJPEG file looped at 30 fps, the reference CNN, a real outbox and a local
// mosquitto) for 30 s and reads its VmRSS every second. The figure is the
// highest sample of the last 10 s; the growth from the middle 10 s to the
// last 10 s is logged, so a leak shows as more than noise.
func TestBenchAgentRSS(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 60, 640, 480)
	cfg := chaosConfig{Dir: dir, Broker: broker.URL(), Video: video, Cameras: 1, FPS: 30}.write(t)
	d := startDaemon(t, cfg)
	d.waitLog("lineside running", 60*time.Second)

	var samples []float64
	for range 30 {
		time.Sleep(time.Second)
		mb, err := vmRSSMB(d.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, mb)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, tail(d.Logs(), 2000))
	}
	middle, last := samples[10:20], samples[20:]
	steady := maxOf(last)
	t.Logf("VmRSS MB each second: %.1f; growth from the middle 10 s to the last: %+.1f MB", samples, mean(last)-mean(middle))
	benchfmt.Print(nil, "camera.rss_mb", steady, "MB", rssGoalMB, benchfmt.Lower)
}

// vmRSSMB reads a process's resident set size in MB from /proc.
func vmRSSMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
