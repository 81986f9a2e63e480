package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
)

// secureBroker starts mosquitto with TLS on its listener and the extra
// lines given.
func secureBroker(t *testing.T, c testutil.Certs, extra ...string) *testutil.Broker {
	t.Helper()
	b := testutil.NewBroker(t)
	b.Extra = append(testutil.FileAccess(), "cafile "+c.CA, "certfile "+c.ServerCert, "keyfile "+c.ServerKey)
	b.Extra = append(b.Extra, extra...)
	b.Start()
	return b
}

func loadTLS(t *testing.T, f TLSFiles) *tls.Config {
	t.Helper()
	cfg, err := LoadTLS(f)
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	return cfg
}

// tryConnect makes one connection attempt with cfg and returns its error.
func tryConnect(t *testing.T, cfg Config) error {
	t.Helper()
	cfg.ConnectTimeout = 3 * time.Second
	cfg.ClientID = fmt.Sprintf("tls-test-%d", time.Now().UnixNano())
	u := New(cfg, openOutbox(t), testLogger(t))
	c, err := u.connect(context.Background())
	if err == nil {
		// Both connections are up, and both run TLS.
		if _, ok := c.data.sock.(*tls.Conn); !ok || !u.Connected() {
			t.Errorf("data connection %T, connected %t; want TLS and up", c.data.sock, u.Connected())
		}
		u.close(c)
	}
	return err
}

// TestDrainOverTLS drains records over mutual TLS with a password: the
// data connection dials with the same TLS settings and credentials as the
// control connection, and records leave the store only after their PUBACKs.
func TestDrainOverTLS(t *testing.T) {
	certs := testutil.MakeCerts(t, t.TempDir())
	passwd := testutil.PasswordFile(t, t.TempDir(), "dev1:s3cret-pw")
	b := secureBroker(t, certs, "require_certificate true", "allow_anonymous false", "password_file "+passwd)
	ob := openOutbox(t)
	const n = 500
	appendEvents(t, ob, "defect", outbox.PriorityEvent, n)
	cfg := testConfig(fmt.Sprintf("mqtts://127.0.0.1:%d", b.Port))
	cfg.TLS = loadTLS(t, TLSFiles{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey})
	cfg.Username, cfg.Password = "dev1", "s3cret-pw"
	u := New(cfg, ob, testLogger(t))
	stop := runUplink(t, u)
	eventually(t, 30*time.Second, "records delivered and deleted over TLS", func() bool { return ob.Depth() == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := u.Stats(); st.Acked != n || st.Published != n || st.Reconnects != 0 || st.LastError != "" {
		t.Fatalf("stats %+v", st)
	}
}

func TestBrokerSecurity(t *testing.T) {
	certs := testutil.MakeCerts(t, t.TempDir())
	dir := t.TempDir()
	passwd := testutil.PasswordFile(t, dir, "dev1:s3cret-pw", "admin:admin-pw")
	tlsOnly := secureBroker(t, certs)
	mutual := secureBroker(t, certs, "require_certificate true")
	auth := secureBroker(t, certs, "allow_anonymous false", "password_file "+passwd)
	url := func(b *testutil.Broker) string { return fmt.Sprintf("ssl://127.0.0.1:%d", b.Port) }
	ca := TLSFiles{CAFile: certs.CA}
	client := TLSFiles{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}
	rogue := TLSFiles{CAFile: certs.CA, CertFile: certs.RogueCert, KeyFile: certs.RogueKey}
	cases := []struct {
		name       string
		broker     *testutil.Broker
		tls        TLSFiles
		user, pass string
		ok         bool
		says       string // part of the refusal, if it is known
	}{
		{"tls with the CA", tlsOnly, ca, "", "", true, ""},
		{"tls without the CA", tlsOnly, TLSFiles{}, "", "", false, "certificate"},
		{"tls with another CA", tlsOnly, TLSFiles{CAFile: certs.RogueCA}, "", "", false, "certificate"},
		{"tls with the wrong server name", tlsOnly, TLSFiles{CAFile: certs.CA, ServerName: "broker.example"}, "", "", false, "certificate"},
		{"mutual with client cert", mutual, client, "", "", true, ""},
		{"mutual without client cert", mutual, ca, "", "", false, ""},
		{"mutual with a cert of another CA", mutual, rogue, "", "", false, ""},
		{"password right", auth, ca, "dev1", "s3cret-pw", true, ""},
		{"password wrong", auth, ca, "dev1", "wrong-pw", false, "not Authorized"},
		{"no password", auth, ca, "", "", false, "not Authorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(url(tc.broker))
			cfg.TLS = loadTLS(t, tc.tls)
			cfg.Username, cfg.Password = tc.user, tc.pass
			err := tryConnect(t, cfg)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && err == nil:
				t.Fatal("connected, want refused")
			case err != nil && !strings.Contains(err.Error(), tc.says):
				t.Fatalf("error %q does not say %q", err, tc.says)
			case err != nil && tc.pass != "" && strings.Contains(err.Error(), tc.pass):
				t.Fatalf("error shows the password: %v", err)
			}
			if s := cfg.String(); tc.pass != "" && strings.Contains(s, tc.pass) {
				t.Fatalf("config string shows the password: %s", s)
			}
		})
	}
}

func TestLoadTLSErrors(t *testing.T) {
	certs := testutil.MakeCerts(t, t.TempDir())
	for name, f := range map[string]TLSFiles{
		"missing ca":       {CAFile: "/nonexistent/ca.pem"},
		"ca not pem":       {CAFile: certs.ServerKey + ".nope"},
		"cert without key": {CertFile: certs.ClientCert},
		"key of another":   {CertFile: certs.ClientCert, KeyFile: certs.RogueKey},
	} {
		if _, err := LoadTLS(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if cfg, err := LoadTLS(TLSFiles{}); cfg != nil || err != nil {
		t.Fatalf("no files: %v, %v", cfg, err)
	}
}
