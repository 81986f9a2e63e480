package agent

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lineside/lineside/sync/uplink"
)

func TestStoreAndSessionKeys(t *testing.T) {
	clearEnv(t)
	cfg := mustLoad(t, validYAML+"store: {max_bytes: 64MiB}\nmqtt: {clean_session: true, rate_limit: 250}\n")
	if cfg.Store.MaxBytes != 64*MiB || !cfg.MQTT.CleanSession || cfg.MQTT.RateLimit != 250 {
		t.Fatalf("store %+v, mqtt %+v", cfg.Store, cfg.MQTT)
	}
	if d := mustLoad(t, validYAML); d.MQTT.CleanSession || d.MQTT.RateLimit != 0 {
		t.Fatalf("defaults: clean_session %t, rate_limit %g", d.MQTT.CleanSession, d.MQTT.RateLimit)
	}
	for _, bad := range []string{"mqtt: {rate_limit: -1}\n", "mqtt: {clean_session: maybe}\n"} {
		if _, err := load(t, validYAML+bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	t.Setenv("LINESIDE_MQTT_CLEAN_SESSION", "true")
	if e := mustLoad(t, validYAML); !e.MQTT.CleanSession {
		t.Fatal("LINESIDE_MQTT_CLEAN_SESSION not applied")
	}
}

func TestMQTTPassword(t *testing.T) {
	clearEnv(t)
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	a := &Agent{cfg: DefaultConfig(), log: slog.New(slog.NewTextHandler(&logs, nil))}
	a.cfg.MQTT.Username = "dev1"
	cases := []struct{ file, env, want string }{
		{"", "", ""},
		{"", "from-env", "from-env"},
		{file, "", "from-file"},
		{file, "from-env", "from-file"},
	}
	for _, c := range cases {
		a.cfg.MQTT.PasswordFile = c.file
		t.Setenv(passwordEnv, c.env)
		if c.env == "" {
			os.Unsetenv(passwordEnv)
		}
		got, err := a.mqttPassword()
		if err != nil || got != c.want {
			t.Errorf("file %q env %q: %q, %v; want %q", c.file, c.env, got, err, c.want)
		}
	}
	if strings.Contains(logs.String(), "from-") {
		t.Fatalf("a password reached the log: %s", logs.String())
	}
}

func TestMetricsPayload(t *testing.T) {
	clearEnv(t)
	cfg := mustLoad(t, validYAML+"store: {path: "+filepath.Join(t.TempDir(), "s.db")+"}\n")
	a := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := a.openStore(); err != nil {
		t.Fatal(err)
	}
	defer a.out.Close()
	a.up = uplink.New(uplink.Config{}, a.out, nil)
	var m struct {
		Outbox map[string]any `json:"outbox"`
		Uplink map[string]any `json:"uplink"`
	}
	if err := json.Unmarshal(a.metrics(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"depth", "bytes", "max_bytes", "drops", "runway_hours"} {
		if _, ok := m.Outbox[k]; !ok {
			t.Errorf("outbox metrics lack %s: %v", k, m.Outbox)
		}
	}
	if m.Outbox["max_bytes"].(float64) != float64(DefaultStoreMaxBytes) || m.Uplink["connected"] != false {
		t.Fatalf("metrics %+v", m)
	}
}
