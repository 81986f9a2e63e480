package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// replies collects what a dispatcher publishes.
type replies struct {
	mu  sync.Mutex
	got map[string][]commandReply
}

func (r *replies) publish(topic string, b []byte) error {
	var rep commandReply
	if err := json.Unmarshal(b, &rep); err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[topic] = append(r.got[topic], rep)
	return nil
}

func (r *replies) all(topic string) []commandReply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]commandReply(nil), r.got[topic]...)
}

func (r *replies) wait(t *testing.T, topic string, n int) []commandReply {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.all(topic); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d replies on %s, want %d", len(r.all(topic)), topic, n)
	return nil
}

const testBase = "lineside/v1/s/l/d"

func startDispatcher(t *testing.T) (*dispatcher, *replies) {
	r := &replies{got: map[string][]commandReply{}}
	d := newDispatcher(testBase, r.publish, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.register("echo", func(_ context.Context, args json.RawMessage) (any, error) {
		var v struct {
			Text string `json:"text"`
		}
		if err := decodeArgs(args, &v, `{"text":"hi"}`); err != nil {
			return nil, err
		}
		return v.Text, nil
	})
	d.register("boom", func(context.Context, json.RawMessage) (any, error) { panic("boom") })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go d.run(ctx)
	return d, r
}

func TestDispatcherReplies(t *testing.T) {
	tests := []struct {
		name, cmd, payload string
		ok                 bool
		result             any
		errHas, id         string
	}{
		{name: "ok", cmd: "echo", payload: `{"text":"hi","id":"r1"}`, ok: true, result: "hi", id: "r1"},
		{name: "empty payload", cmd: "echo", payload: "", ok: true, result: ""},
		{name: "unknown command", cmd: "nope", errHas: `unknown command "nope"`},
		{name: "unknown argument", cmd: "echo", payload: `{"txet":"hi"}`, errHas: "unknown field"},
		{name: "not an object", cmd: "echo", payload: `[1,2]`, errHas: "not a JSON object"},
		{name: "bad JSON", cmd: "echo", payload: `{"text":`, errHas: "not a JSON object"},
		{name: "bad id", cmd: "echo", payload: `{"id":7}`, errHas: "id is not a string"},
		{name: "bad name", cmd: "Echo!", errHas: "invalid command name"},
		{name: "panic", cmd: "boom", errHas: "internal error: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, r := startDispatcher(t)
			d.handle(testBase+"/cmd/"+tc.cmd, []byte(tc.payload))
			got := r.wait(t, testBase+"/cmd/"+tc.cmd+"/reply", 1)[0]
			if got.OK != tc.ok || got.ID != tc.id {
				t.Fatalf("reply %+v, want ok=%v id=%q", got, tc.ok, tc.id)
			}
			if tc.ok && got.Result != tc.result {
				t.Fatalf("result %v, want %v", got.Result, tc.result)
			}
			if !tc.ok && (got.Error == nil || !strings.Contains(*got.Error, tc.errHas)) {
				t.Fatalf("error %v, want it to contain %q", got.Error, tc.errHas)
			}
		})
	}
}

// TestDispatcherFlood sends 1,000 commands at once: the burst is served,
// the rest refused; refusals are answered within their own budget and the
// others only counted, so a flood costs a bounded number of replies.
func TestDispatcherFlood(t *testing.T) {
	d, r := startDispatcher(t)
	for range 1000 {
		d.handle(testBase+"/cmd/echo", []byte(`{"text":"x"}`))
	}
	time.Sleep(200 * time.Millisecond)
	got := r.all(testBase + "/cmd/echo/reply")
	ok, limited := 0, 0
	for _, g := range got {
		switch {
		case g.OK:
			ok++
		case g.Error != nil && (strings.Contains(*g.Error, "rate limited") || strings.Contains(*g.Error, "busy")):
			limited++
		}
	}
	c := d.counts()
	t.Logf("replies: %d ok, %d refused; counts %+v", ok, limited, c)
	if ok < commandQueue || ok > commandBurst+2 {
		t.Fatalf("%d commands served from a flood of 1000, want about the burst (%d)", ok, commandBurst)
	}
	if limited < 1 || limited > refusalBurst+2 {
		t.Fatalf("%d refusals answered, want 1..%d", limited, refusalBurst+2)
	}
	if c.Received != 1000 || c.RateLimited < 900 || c.OK != uint64(ok) {
		t.Fatalf("counts %+v", c)
	}
	// The budget comes back: a command a second later is served.
	time.Sleep(time.Second)
	d.handle(testBase+"/cmd/echo", []byte(`{"text":"later"}`))
	deadline := time.Now().Add(5 * time.Second)
	for {
		all := r.all(testBase + "/cmd/echo/reply")
		if last := all[len(all)-1]; last.OK && last.Result == "later" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no command served after the flood")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newTokenBucket(2, 3, now)
	n := 0
	for b.take(now) {
		n++
	}
	if n != 3 {
		t.Fatalf("burst %d, want 3", n)
	}
	if b.take(now.Add(400 * time.Millisecond)) {
		t.Fatal("token before 500ms at 2/s")
	}
	if !b.take(now.Add(500 * time.Millisecond)) {
		t.Fatal("no token after 500ms at 2/s")
	}
}
