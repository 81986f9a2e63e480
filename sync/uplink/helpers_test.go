package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/sync/outbox"
)

const prefix = "lineside/v1/plant1/line3/lpc-07"

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func openOutbox(t *testing.T) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "ob.db"), outbox.Options{Device: "lpc-07"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

// appendEvents appends n JSON records on stream with priority p, from a few
// goroutines to keep the setup short.
func appendEvents(t *testing.T, ob *outbox.Outbox, stream string, p outbox.Priority, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				r := outbox.Record{Stream: stream, Topic: prefix + "/events/" + stream, QoS: 1, Priority: p, JSON: true,
					Payload: fmt.Appendf(nil, `{"n":%d}`, i)}
				if _, err := ob.Append(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// testConfig returns a config with short timeouts for broker URL url.
func testConfig(url string) Config {
	return Config{
		Broker:      url,
		ClientID:    "uplink-test",
		StatusTopic: prefix + "/status",
		Birth:       func() []byte { return []byte(`{"state":"online"}`) },
		BackoffMin:  50 * time.Millisecond,
		BackoffMax:  500 * time.Millisecond,
		KeepAlive:   5 * time.Second,
	}
}

// runUplink starts Run and returns a stop function that ends it and
// reports its error.
func runUplink(t *testing.T, u *Uplink) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// rx is a message a subscriber received.
type rx struct {
	Topic   string
	Payload []byte
	ID      string
}

// collector subscribes to filter with a real paho client and records every
// message in arrival order.
type collector struct {
	mu    sync.Mutex
	msgs  []rx
	ids   map[string]int
	total int // messages that carried an id
}

func subscribe(t *testing.T, url, filter string) *collector {
	t.Helper()
	c := &collector{ids: map[string]int{}}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("sub-%d", time.Now().UnixNano())).
		SetAutoReconnect(false).SetCleanSession(true)
	cl := mqtt.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		r := rx{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)}
		var v struct{ ID string }
		if json.Unmarshal(r.Payload, &v) == nil {
			r.ID = v.ID
		} else if i := strings.LastIndex(r.Topic, "/snapshots/"); i >= 0 {
			r.ID = r.Topic[i+len("/snapshots/"):]
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, r)
		if r.ID != "" {
			c.ids[r.ID]++
			c.total++
		}
		c.mu.Unlock()
	})
	if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return c
}

// counts returns the number of record messages (those with an id) and of
// distinct ids received.
func (c *collector) counts() (total, unique int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, len(c.ids)
}

func (c *collector) snapshot() []rx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rx(nil), c.msgs...)
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
