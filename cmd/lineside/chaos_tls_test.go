package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/uplink"
)

// TestBrokerAuth runs the agent against mosquitto with TLS, client
// certificates, a password file and an ACL, all made by the test: it
// connects where it should, is refused where it should be, and never logs
// its password.
func TestBrokerAuth(t *testing.T) {
	dir := t.TempDir()
	certs := testutil.MakeCerts(t, dir)
	passwd := testutil.PasswordFile(t, dir, "dev1:dev1-secret", "cloud:cloud-secret")
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("user dev1\ntopic write lineside/v1/s1/l1/dev1/#\ntopic read lineside/v1/s1/l1/dev1/cmd/#\n\nuser cloud\ntopic readwrite #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := testutil.NewBroker(t)
	b.Extra = append(testutil.FileAccess(), "cafile "+certs.CA, "certfile "+certs.ServerCert, "keyfile "+certs.ServerKey,
		"require_certificate true", "allow_anonymous false", "password_file "+passwd, "acl_file "+acl)
	b.Start()
	url := fmt.Sprintf("ssl://127.0.0.1:%d", b.Port)
	cloud := cloudStatus(t, url, certs)

	cases := []struct {
		name, device, password, cert, key string
		online                            bool // its status must reach the cloud
		refused                           string
	}{
		{"right credentials", "dev1", "dev1-secret", certs.ClientCert, certs.ClientKey, true, ""},
		{"wrong password", "dev1", "not-the-secret", certs.ClientCert, certs.ClientKey, false, "not Authorized"},
		{"no client certificate", "dev1", "dev1-secret", "", "", false, "broker unreachable"},
		{"certificate of another CA", "dev1", "dev1-secret", certs.RogueCert, certs.RogueKey, false, "broker unreachable"},
		{"topic outside the ACL", "dev2", "dev1-secret", certs.ClientCert, certs.ClientKey, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			tls := fmt.Sprintf("tls: {ca_file: %q", certs.CA)
			if tc.cert != "" {
				tls += fmt.Sprintf(", cert_file: %q, key_file: %q", tc.cert, tc.key)
			}
			cfg := chaosConfig{Dir: d, Broker: url, MQTT: "username: dev1, " + tls + "}"}.write(t)
			if tc.device != "dev1" {
				raw, _ := os.ReadFile(cfg)
				os.WriteFile(cfg, []byte(strings.Replace(string(raw), "id: dev1", "id: "+tc.device, 1)), 0o644)
			}
			cloud.reset()
			dm := startDaemon(t, cfg, "LINESIDE_MQTT_PASSWORD="+tc.password)
			dm.waitLog("lineside running", 60*time.Second)
			if tc.online {
				cloud.wait(t, "lineside/v1/s1/l1/"+tc.device+"/status", 20*time.Second)
			} else {
				if tc.refused != "" {
					dm.waitLog(tc.refused, 20*time.Second)
				} else {
					dm.waitLog("connected", 20*time.Second)
				}
				time.Sleep(time.Second)
				if cloud.has("lineside/v1/s1/l1/" + tc.device + "/status") {
					t.Fatal("the cloud received the status of an agent that should have been refused")
				}
			}
			if code := dm.stop(); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			if strings.Contains(dm.Logs(), tc.password) {
				t.Fatalf("the password is in the log:\n%s", dm.Logs())
			}
		})
	}
}

// cloudSeen records the topics of online status messages the cloud user
// receives over mutual TLS.
type cloudSeen struct {
	mu     sync.Mutex
	topics map[string]bool
}

func cloudStatus(t *testing.T, url string, certs testutil.Certs) *cloudSeen {
	t.Helper()
	tlsCfg, err := uplink.LoadTLS(uplink.TLSFiles{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	s := &cloudSeen{topics: map[string]bool{}}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID("cloud").SetUsername("cloud").SetPassword("cloud-secret").SetTLSConfig(tlsCfg)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("cloud connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	tok := c.Subscribe("lineside/v1/+/+/+/status", 1, func(_ mqtt.Client, m mqtt.Message) {
		if strings.Contains(string(m.Payload()), `"online"`) {
			s.mu.Lock()
			s.topics[m.Topic()] = true
			s.mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return s
}

func (s *cloudSeen) reset() {
	s.mu.Lock()
	clear(s.topics)
	s.mu.Unlock()
}

func (s *cloudSeen) has(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics[topic]
}

func (s *cloudSeen) wait(t *testing.T, topic string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !s.has(topic) {
		if time.Now().After(deadline) {
			t.Fatalf("no online status on %s", topic)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
