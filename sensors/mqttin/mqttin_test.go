package mqttin

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srctest"
)

func publisher(t *testing.T, b *testutil.Broker) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func source(t *testing.T, raw string, rec *srctest.Recorder) *Source {
	t.Helper()
	u, _ := url.Parse(raw)
	s, err := New(u, sensors.Options{Name: "plant", Timeout: 2 * time.Second, OnState: rec.OnState, Points: []sensors.PointConfig{
		{Name: "plain", Address: "line/+/plain", Options: map[string]string{"scale": "2", "max": "100"}},
		{Name: "vib", Address: "line/m1/json", Options: map[string]string{"field": "data.vib[1]",
			"time_field": "ts", "max_age": "1m"}},
		{Name: "temp", Address: "line/m1/json", Options: map[string]string{"field": "data.temp"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Source)
}

func TestMQTTValuesBadPayloadsAndReconnect(t *testing.T) {
	b := testutil.StartBroker(t)
	rec := &srctest.Recorder{}
	src := source(t, "mqtt://"+b.Addr()+"?qos=1", rec)
	srctest.Start(t, src, rec)
	srctest.Wait(t, 10*time.Second, "connected", func() bool { return src.Health().State == sensors.StateConnected })
	pub := publisher(t, b)

	ts := time.Now().Add(-2 * time.Second).UTC().Truncate(time.Millisecond)
	publish(t, pub, "line/a/plain", "21.5")
	publish(t, pub, "line/m1/json", fmt.Sprintf(`{"ts":%q,"data":{"vib":[0,3.25],"temp":"61.5"}}`, ts.Format(time.RFC3339Nano)))
	srctest.Wait(t, 5*time.Second, "good samples", func() bool { return len(rec.Good("vib")) == 1 && len(rec.Good("plain")) == 1 })
	if g := rec.Good("plain")[0]; g.Value != 43 {
		t.Errorf("plain = %v, want 43", g.Value)
	}
	if g := rec.Good("vib")[0]; g.Value != 3.25 || !g.Time.Equal(ts) {
		t.Errorf("vib = %v at %v, want 3.25 at the source time %v", g.Value, g.Time, ts)
	}
	if g := rec.Good("temp"); len(g) != 1 || g[0].Value != 61.5 {
		t.Errorf("temp = %v, want 61.5", g)
	}

	bad := []struct{ topic, payload string }{
		{"line/b/plain", "NaN"},
		{"line/b/plain", "+Inf"},
		{"line/b/plain", "hot"},
		{"line/b/plain", "60"}, // 120 after scaling, above max
		{"line/m1/json", `{"ts":`},
		{"line/m1/json", `{"ts":1000,"data":{"vib":[1,2],"temp":true}}`}, // stale; temp a boolean
		{"line/m1/json", `{"ts":"soon","data":{"vib":[1],"temp":null}}`},
	}
	for _, m := range bad {
		publish(t, pub, m.topic, m.payload)
	}
	srctest.Wait(t, 5*time.Second, "bad samples", func() bool { return len(rec.Samples("")) >= 3+4+3*2 })
	for _, c := range []struct {
		point string
		kind  error
		n     int
	}{
		{"plain", sensors.ErrNotFinite, 2}, {"plain", sensors.ErrWrongType, 1}, {"plain", sensors.ErrOutOfRange, 1},
		{"vib", sensors.ErrMalformed, 2}, {"vib", sensors.ErrStale, 1},
		{"temp", sensors.ErrMalformed, 1}, {"temp", sensors.ErrWrongType, 2},
	} {
		if got := len(rec.Bad(c.point, c.kind)); got != c.n {
			t.Errorf("%s: %d samples flagged %v, want %d", c.point, got, c.kind, c.n)
		}
	}
	if h := src.Health(); h.Reads != 3 || h.ReadErrors != 10 {
		t.Errorf("health %+v: want 3 reads and 10 read errors", h)
	}

	// Broker outage: the source reconnects and subscribes again.
	b.Stop()
	srctest.Wait(t, 10*time.Second, "reconnecting", func() bool { return src.Health().State != sensors.StateConnected })
	b.Start()
	srctest.Wait(t, 15*time.Second, "reconnected", func() bool {
		h := src.Health()
		return h.State == sensors.StateConnected && h.Reconnects == 1
	})
	pub2 := publisher(t, b)
	publish(t, pub2, "line/c/plain", "5")
	srctest.Wait(t, 5*time.Second, "samples after reconnect", func() bool { return len(rec.Good("plain")) == 2 })
	states := strings.Join(rec.States(), " ")
	if !strings.Contains(states, "connected reconnecting") || !strings.HasSuffix(states, "connected") {
		t.Errorf("states %q: want connected → reconnecting → connected", states)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		url  string
		pc   sensors.PointConfig
		want string
	}{
		{"mqtt://h", sensors.PointConfig{Name: "p", Address: "a"}, "want mqtt://HOST:PORT"},
		{"mqtt://h:1883?qos=2", sensors.PointConfig{Name: "p", Address: "a"}, "qos"},
		{"mqtt://h:1883?ca_file=x", sensors.PointConfig{Name: "p", Address: "a"}, "need mqtts://"},
		{"mqtts://h:8883?ca_file=/nonexistent", sensors.PointConfig{Name: "p", Address: "a"}, "ca_file"},
		{"mqtt://h:1883?retain=1", sensors.PointConfig{Name: "p", Address: "a"}, `"retain": unknown`},
		{"mqtt://h:1883", sensors.PointConfig{Name: "p", Address: "a/#/b"}, `point "p": address "a/#/b"`},
		{"mqtt://h:1883", sensors.PointConfig{Name: "p", Address: "a/b+"}, `point "p": address`},
		{"mqtt://h:1883", sensors.PointConfig{Name: "p", Address: "a", Options: map[string]string{"field": "a..b"}}, "option field"},
		{"mqtt://h:1883", sensors.PointConfig{Name: "p", Address: "a", Options: map[string]string{"max_age": "1m"}}, "needs time_field"},
		{"mqtt://h:1883", sensors.PointConfig{Name: "p", Address: "a", Options: map[string]string{"max_age": "soon", "time_field": "t"}}, `max_age="soon"`},
		{"mqtt://h:1883", sensors.PointConfig{Name: "p", Address: "a", Options: map[string]string{"feild": "x"}}, `option "feild": unknown`},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.url)
		_, err := New(u, sensors.Options{Name: "plant", Points: []sensors.PointConfig{c.pc}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `source "plant"`) {
			t.Errorf("%s %+v: error %v, want %q", c.url, c.pc, err, c.want)
		}
	}
}
