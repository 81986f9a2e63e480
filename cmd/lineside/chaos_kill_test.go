package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/ledger"
)

// window is mqtt.inflight in chaosConfig.
const window = 64

// TestChaosKill kills the agent with SIGKILL at random points under load (a
// synthetic camera at a high frame rate and three simulated machines sped
// up, so defect, health and telemetry records flow at once), restarting it
// each time, while the ledger follows from the cloud side: no id of any
// stream may go missing, and duplicates stay within what was in flight at
// each kill.
func TestChaosKill(t *testing.T) {
	kills := chaosScale(10, 100)
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d kills, seed %d", kills, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	load := chaosLoad(dir, broker.URL())
	cfg := load.write(t)
	w := startWatch(t, broker.URL())
	seen := watchStreams(t, broker.URL())

	for i := range kills {
		d := startDaemon(t, cfg)
		d.waitLog("lineside running", 60*time.Second)
		time.Sleep(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
		if err := d.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-d.done
		if logs := d.Logs(); strings.Contains(logs, "salvag") || strings.Contains(logs, "level=ERROR") {
			t.Fatalf("run %d logged an error or a salvage:\n%s", i, tail(logs, 3000))
		}
	}
	t.Logf("records seen during the kills: %v", seen.counts())
	// A last clean run publishes what the kills left behind, and runs until
	// every stream produced again, so each is known to have flowed.
	m := watchMetrics(t, broker.URL())
	before := seen.counts()
	d := startDaemon(t, cfg)
	d.waitLog("lineside running", 60*time.Second)
	seen.waitNew(t, before, load.streams(), 30*time.Second)
	m.waitDepthBelow(t, 2*window, 60*time.Second)
	if code := d.stop(); code != 0 {
		t.Fatalf("clean stop exit code %d", code)
	}
	rep, _ := w.report(time.Second)
	checkLedger(t, rep, storedIDs(t, dir), 2*window*(kills+1))
	checkDelivered(t, rep, load.streams())
	if rep.Unique < uint64(kills)*20 {
		t.Fatalf("only %d records delivered over %d runs: no load", rep.Unique, kills)
	}
}

// checkLedger asserts, over every stream, that nothing went missing (ids
// still stored are not missing, only late), the order of first arrivals was
// kept, and at most maxDups duplicates arrived in all.
func checkLedger(t *testing.T, rep ledger.Report, stored map[string]bool, maxDups int) {
	t.Helper()
	t.Logf("ledger: %s; %d records still stored", summary(rep), len(stored))
	for _, name := range slices.Sorted(maps.Keys(rep.Streams)) {
		s := rep.Streams[name]
		t.Logf("  %s: first=%d last=%d unique=%d duplicates=%d out_of_order=%d missing=%d dropped=%d", name, s.First, s.Last, s.Unique, s.Duplicates, s.OutOfOrder, s.Missing, s.Dropped)
		listed := uint64(0)
		for _, r := range s.MissingIDs {
			listed += r[1] - r[0] + 1
		}
		if listed != s.Missing {
			t.Errorf("%s: %d ids missing, %d listed: the ledger cut the list, the others cannot be checked", name, s.Missing, listed)
		}
	}
	for _, id := range missingIDs(rep) {
		if !stored[id] {
			t.Errorf("id %s lost: neither delivered, nor reported dropped, nor stored", id)
		}
	}
	if rep.OutOfOrder != 0 || rep.Malformed != 0 {
		t.Errorf("%d records arrived out of order, %d malformed", rep.OutOfOrder, rep.Malformed)
	}
	if rep.Duplicates > uint64(maxDups) {
		t.Errorf("%d duplicates, more than the in-flight bound %d", rep.Duplicates, maxDups)
	}
}

// checkDelivered asserts that each of streams (of dev1) delivered records,
// so that a load that produced nothing on one of them fails the test.
func checkDelivered(t *testing.T, rep ledger.Report, streams []string) {
	t.Helper()
	for _, s := range streams {
		if rep.Streams["dev1:"+s].Unique == 0 {
			t.Errorf("no %s record delivered", s)
		}
	}
}

// metricsWatch keeps the last {base}/metrics payload of dev1.
type metricsWatch struct {
	mu   sync.Mutex
	last metricsMsg
	n    int
}

type metricsMsg struct {
	Outbox struct {
		Depth       int                          `json:"depth"`
		Bytes       int64                        `json:"bytes"`
		MaxBytes    int64                        `json:"max_bytes"`
		Drops       map[string]map[string]uint64 `json:"drops"`
		RunwayHours *float64                     `json:"runway_hours"`
	} `json:"outbox"`
	Uplink struct {
		Connected bool `json:"connected"`
	} `json:"uplink"`
}

func watchMetrics(t *testing.T, broker string) *metricsWatch {
	t.Helper()
	m := &metricsWatch{}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("test-metrics-%d", time.Now().UnixNano())).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.Subscribe("lineside/v1/s1/l1/dev1/metrics", 0, func(_ mqtt.Client, msg mqtt.Message) {
				var v metricsMsg
				if json.Unmarshal(msg.Payload(), &v) == nil {
					m.mu.Lock()
					m.last, m.n = v, m.n+1
					m.mu.Unlock()
				}
			})
		})
	c := mqtt.NewClient(opts)
	c.Connect().Wait()
	t.Cleanup(func() { c.Disconnect(50) })
	return m
}

func (m *metricsWatch) latest() (metricsMsg, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.n
}

// waitDepthBelow waits for a metrics message, received after the call,
// that shows fewer than n records in the store.
func (m *metricsWatch) waitDepthBelow(t *testing.T, n int, timeout time.Duration) metricsMsg {
	t.Helper()
	_, start := m.latest()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if v, k := m.latest(); k > start && v.Outbox.Depth < n && v.Uplink.Connected {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, _ := m.latest()
	t.Fatalf("store depth still %d after %s", v.Outbox.Depth, timeout)
	return v
}
