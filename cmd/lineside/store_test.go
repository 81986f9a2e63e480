package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
)

// TestDamagedStores starts the agent on 20 damaged copies of a store it
// wrote itself (cut short, metas wiped, pages zeroed, noise, bit flips,
// garbage, empty): it always starts, sets the file aside intact, and
// reports the salvage on {base}/events/store.
func TestDamagedStores(t *testing.T) {
	ref := agentStore(t)
	broker := testutil.StartBroker(t)
	reports := collectStoreReports(t, broker.URL())
	ps := os.Getpagesize()
	rng := rand.New(rand.NewPCG(7, 11))
	page := func(fill func([]byte)) func() ([]byte, bool) {
		return func() ([]byte, bool) {
			b := bytes.Clone(ref)
			i := 2 + rng.IntN(len(b)/ps-2)
			fill(b[i*ps : (i+1)*ps])
			return b, false
		}
	}
	noise := func(p []byte) {
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
	}
	flips := func(p []byte) {
		for range 16 {
			p[rng.IntN(len(p))] ^= 0xff
		}
	}
	random := func(n int) func() ([]byte, bool) {
		return func() ([]byte, bool) { b := make([]byte, n); noise(b); return b, true }
	}
	cut := func(frac float64) func() ([]byte, bool) {
		return func() ([]byte, bool) { return bytes.Clone(ref[:int(float64(len(ref))*frac)/ps*ps]), frac <= 0.3 }
	}
	damages := []struct {
		name string
		make func() ([]byte, bool) // bytes, and whether the damage must be found
	}{
		{"empty", func() ([]byte, bool) { return nil, true }},
		{"random 100B", random(100)}, {"random 8KiB", random(8 << 10)}, {"random 128KiB", random(128 << 10)},
		{"one page", func() ([]byte, bool) { return bytes.Clone(ref[:ps]), true }},
		{"cut 10%", cut(0.1)}, {"cut 30%", cut(0.3)}, {"cut 50%", cut(0.5)}, {"cut 80%", cut(0.8)},
		{"metas wiped", func() ([]byte, bool) { b := bytes.Clone(ref); clear(b[:2*ps]); return b, true }},
		{"meta 0 wiped", func() ([]byte, bool) { b := bytes.Clone(ref); clear(b[:ps]); return b, false }},
		{"page zeroed 1", page(func(p []byte) { clear(p) })}, {"page zeroed 2", page(func(p []byte) { clear(p) })},
		{"page noise 1", page(noise)}, {"page noise 2", page(noise)}, {"page noise 3", page(noise)},
		{"bit flips 1", page(flips)}, {"bit flips 2", page(flips)}, {"bit flips 3", page(flips)},
		{"text file", func() ([]byte, bool) { return []byte("lineside store\n"), true }},
	}
	found := 0
	for _, dm := range damages {
		t.Run(dm.name, func(t *testing.T) {
			broken, mustFind := dm.make()
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Dir(storePath(dir)), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(storePath(dir), broken, 0o600); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, chaosConfig{Dir: dir, Broker: broker.URL()}.write(t))
			d.waitLog("lineside running", 60*time.Second)
			asides, _ := filepath.Glob(storePath(dir) + ".corrupt-*")
			salvaged := strings.Contains(d.Logs(), "store salvaged")
			if mustFind && (!salvaged || len(asides) != 1) {
				t.Fatalf("damage not reported (asides %v):\n%s", asides, tail(d.Logs(), 2000))
			}
			if salvaged {
				found++
				if got, err := os.ReadFile(asides[0]); err != nil || !bytes.Equal(got, broken) {
					t.Fatalf("damaged file not kept intact aside: %v", err)
				}
				reports.wait(t, asides[0], 20*time.Second)
			}
			if code := d.stop(); code != 0 {
				t.Fatalf("exit code %d:\n%s", code, tail(d.Logs(), 2000))
			}
		})
	}
	if found < 12 {
		t.Fatalf("only %d of %d damages found", found, len(damages))
	}
}

// agentStore runs the agent with the broker unreachable until its store
// holds records, and returns the file.
func agentStore(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	video := testutil.WriteVideo(t, dir, 30, 320, 240)
	d := startDaemon(t, chaosConfig{Dir: dir, Broker: testutil.NewBroker(t).URL(), Video: video, Cameras: 1, FPS: 100}.write(t))
	d.waitLog("lineside running", 60*time.Second)
	time.Sleep(3 * time.Second)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if n := len(storedIDs(t, dir)); n < 50 {
		t.Fatalf("only %d records stored", n)
	}
	b, err := os.ReadFile(storePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storeReports collects {base}/events/store payloads.
type storeReports struct {
	mu       sync.Mutex
	payloads []string
}

func collectStoreReports(t *testing.T, broker string) *storeReports {
	t.Helper()
	r := &storeReports{}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("test-store-%d", time.Now().UnixNano()))
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	tok := c.Subscribe("lineside/v1/s1/l1/dev1/events/store", 1, func(_ mqtt.Client, m mqtt.Message) {
		r.mu.Lock()
		r.payloads = append(r.payloads, string(m.Payload()))
		r.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return r
}

// wait waits for the report naming aside.
func (r *storeReports) wait(t *testing.T, aside string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, p := range r.payloads {
			if strings.Contains(p, `"salvaged"`) && strings.Contains(p, aside) {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no salvage report for %s on events/store", aside)
}
