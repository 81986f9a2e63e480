package agent

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// processSample is the process's resource use at one instant.
type processSample struct {
	at      time.Time
	cpu     time.Duration // user + system CPU time since start
	rss     int64         // resident set size in bytes
	diskOK  bool
	free    uint64 // bytes available to the agent on the store's filesystem
	total   uint64 // size of that filesystem
	threads int
}

// sampleProcess reads the process's CPU time (getrusage), its RSS
// (/proc/self/statm) and the free space of the filesystem holding dir.
func sampleProcess(dir string) processSample {
	s := processSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				s.rss = pages * int64(os.Getpagesize())
			}
		}
	}
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) == nil {
		s.diskOK = true
		s.free = st.Bavail * uint64(st.Bsize)
		s.total = st.Blocks * uint64(st.Bsize)
	}
	return s
}

// cpuPercent is the CPU used between two samples in percent of one core.
func cpuPercent(prev, cur processSample) float64 {
	wall := cur.at.Sub(prev.at)
	if prev.at.IsZero() || wall <= 0 {
		return 0
	}
	return 100 * float64(cur.cpu-prev.cpu) / float64(wall)
}
