package uplink

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
)

// inbox collects what an Uplink subscription delivers.
type inbox struct {
	mu   sync.Mutex
	msgs []string
}

func (b *inbox) handle(topic string, payload []byte) {
	b.mu.Lock()
	b.msgs = append(b.msgs, topic+" "+string(payload))
	b.mu.Unlock()
}

func (b *inbox) has(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if m == s {
			return true
		}
	}
	return false
}

// publisher connects a plain client, as the cloud side would.
func publisher(t *testing.T, url, user, pass string) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func TestResubscribeAfterBrokerRestart(t *testing.T) {
	b := testutil.StartBroker(t)
	u := New(testConfig(b.URL()), openOutbox(t), testLogger(t))
	var in inbox
	if err := u.Subscribe(prefix+"/cmd/#", 1, in.handle); err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)
	eventually(t, 10*time.Second, "connect", u.Connected)
	publish(t, publisher(t, b.URL(), "", ""), prefix+"/cmd/ping", "1")
	eventually(t, 10*time.Second, "first command", func() bool { return in.has(prefix + "/cmd/ping 1") })

	b.Stop() // no persistence: the broker forgets every session
	b.Start()
	eventually(t, 20*time.Second, "reconnect", func() bool { return u.Stats().Reconnects >= 1 && u.Connected() })
	pub := publisher(t, b.URL(), "", "")
	eventually(t, 10*time.Second, "command after the restart", func() bool {
		publish(t, pub, prefix+"/cmd/ping", "2")
		time.Sleep(50 * time.Millisecond)
		return in.has(prefix + "/cmd/ping 2")
	})
}

func TestPersistentSessionKeepsQueuedCommands(t *testing.T) {
	b := testutil.StartBroker(t)
	for _, clean := range []bool{false, true} {
		t.Run(fmt.Sprintf("clean=%t", clean), func(t *testing.T) {
			cfg := testConfig(b.URL())
			cfg.ClientID = fmt.Sprintf("persist-%t", clean)
			cfg.CleanSession = clean
			first := New(cfg, openOutbox(t), testLogger(t))
			var in inbox
			if err := first.Subscribe(prefix+"/cmd/#", 1, in.handle); err != nil {
				t.Fatal(err)
			}
			stop := runUplink(t, first)
			eventually(t, 10*time.Second, "connect", first.Connected)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			publish(t, publisher(t, b.URL(), "", ""), prefix+"/cmd/reboot", "while away")

			second := New(cfg, openOutbox(t), testLogger(t))
			if err := second.Subscribe(prefix+"/cmd/#", 1, in.handle); err != nil {
				t.Fatal(err)
			}
			runUplink(t, second)
			eventually(t, 10*time.Second, "reconnect", second.Connected)
			time.Sleep(300 * time.Millisecond)
			if got := in.has(prefix + "/cmd/reboot while away"); got == clean {
				t.Fatalf("queued command delivered: %t, want %t", got, !clean)
			}
		})
	}
}

func TestACL(t *testing.T) {
	dir := t.TempDir()
	passwd := testutil.PasswordFile(t, dir, "lpc-07:dev-pw", "cloud:cloud-pw")
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("user lpc-07\ntopic write "+prefix+"/#\ntopic read "+prefix+"/cmd/#\n\nuser cloud\ntopic readwrite #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := testutil.NewBroker(t)
	b.Extra = append(testutil.FileAccess(), "allow_anonymous false", "password_file "+passwd, "acl_file "+acl)
	b.Start()
	cloudURL := b.URL()
	col := subscribeAs(t, cloudURL, "cloud", "cloud-pw", "lineside/v1/#")

	ob := openOutbox(t)
	appendEvents(t, ob, "defect", outbox.PriorityEvent, 5)
	other := outbox.Record{Stream: "spoof", Topic: "lineside/v1/plant1/line3/other-device/events/defect", QoS: 1, Priority: outbox.PriorityEvent, JSON: true, Payload: []byte(`{}`)}
	if _, err := ob.Append(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(b.URL())
	cfg.Username, cfg.Password = "lpc-07", "dev-pw"
	u := New(cfg, ob, testLogger(t))
	var in inbox
	if err := u.Subscribe(prefix+"/cmd/#", 1, in.handle); err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)
	eventually(t, 10*time.Second, "own records delivered", func() bool { n, _ := col.counts(); return n >= 5 })
	eventually(t, 10*time.Second, "outbox empty", func() bool { return ob.Depth() == 0 })
	time.Sleep(200 * time.Millisecond)
	for _, m := range col.snapshot() {
		if m.Topic == other.Topic {
			t.Fatal("the broker let the device publish under another device's topic")
		}
	}
	publish(t, publisher(t, cloudURL, "cloud", "cloud-pw"), prefix+"/cmd/ping", "x")
	eventually(t, 10*time.Second, "command allowed by the ACL", func() bool { return in.has(prefix + "/cmd/ping x") })
}

// subscribeAs is subscribe with a login.
func subscribeAs(t *testing.T, url, user, pass, filter string) *collector {
	t.Helper()
	c := &collector{ids: map[string]int{}}
	cl := publisher(t, url, user, pass)
	tok := cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		c.mu.Lock()
		c.msgs = append(c.msgs, rx{Topic: m.Topic(), Payload: m.Payload()})
		c.total++
		c.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return c
}

func TestRateLimit(t *testing.T) {
	b := testutil.StartBroker(t)
	col := subscribe(t, b.URL(), prefix+"/events/#")
	ob := openOutbox(t)
	appendEvents(t, ob, "defect", outbox.PriorityEvent, 60)
	cfg := testConfig(b.URL())
	cfg.RateLimit = 40
	u := New(cfg, ob, testLogger(t))
	start := time.Now()
	runUplink(t, u)
	eventually(t, 20*time.Second, "all delivered", func() bool { _, n := col.counts(); return n == 60 })
	// 60 records at 40/s with a burst of 4: about 1.4s.
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Fatalf("60 records at 40/s took %v", d)
	}
	if u.Stats().RateLimited == 0 {
		t.Fatal("rate limit never held a publish back")
	}
}
