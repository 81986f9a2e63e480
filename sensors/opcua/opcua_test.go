package opcua

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srctest"
	"github.com/lineside/lineside/sensors/plc"
	"github.com/lineside/lineside/sensors/sim"
)

// keyPair is a certificate for OPC UA application authentication.
type keyPair struct {
	der      []byte
	key      *rsa.PrivateKey
	certFile string
	keyFile  string
}

func makeKeyPair(t *testing.T, dir, name string) keyPair {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	uri, _ := url.Parse("urn:lineside:test:" + name)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"lineside test"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment |
			x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		URIs:                  []*url.URL{uri},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kp := keyPair{der: der, key: key,
		certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(kp.certFile, "CERTIFICATE", der)
	write(kp.keyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	return kp
}

// startPLC serves two simulated assets over OPC UA, updated every 100 ms.
func startPLC(t *testing.T, addr string, start time.Time, server *keyPair) (stop func()) {
	t.Helper()
	cfg := plc.Config{Assets: 2, Seed: 11, Speed: 3600, Period: 2 * time.Minute, Start: start, OPCUA: addr}
	if server != nil {
		cfg.Certificate, cfg.Key = server.der, server.key
	}
	p, err := plc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	srctest.Wait(t, 10*time.Second, "plc listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("plc: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func points() []sensors.PointConfig {
	var ps []sensors.PointConfig
	for _, f := range sim.Features {
		ps = append(ps, sensors.PointConfig{Name: "a0." + f, Address: plc.NodeID(0, f)})
	}
	return append(ps,
		sensors.PointConfig{Name: "a1.vib", Address: plc.NodeID(1, "vibration_rms"), Options: map[string]string{"scale": "1000"}},
		sensors.PointConfig{Name: "ghost", Address: "ns=2;s=asset9.vibration_rms"},
		sensors.PointConfig{Name: "elsewhere", Address: "ns=7;i=1"})
}

func newSource(t *testing.T, raw string, rec *srctest.Recorder) *Source {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(u, sensors.Options{Name: "line3", Points: points(), Interval: 100 * time.Millisecond,
		Timeout: 3 * time.Second, OnState: rec.OnState})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Source)
}

// checkValues compares samples with the machines at their source timestamps.
func checkValues(t *testing.T, rec *srctest.Recorder, start time.Time) {
	t.Helper()
	clock := sim.Clock{Start: start, Speed: 3600}
	m0, _ := sim.NewMachine(sim.AssetKind(0), 11, 0, sim.DefaultOptions())
	m1, _ := sim.NewMachine(sim.AssetKind(1), 11, 1, sim.DefaultOptions())
	// The PLC samples at multiples of the period; OPC UA timestamps have
	// 100 ns resolution, so round to the nearest instant.
	at := func(ts time.Time) time.Duration {
		return (clock.Sim(ts) + time.Minute).Truncate(2 * time.Minute)
	}
	for f, name := range sim.Features {
		for _, s := range rec.Good("a0." + name) {
			if want := m0.SampleAt(at(s.Time)).Values[f]; s.Value != want {
				t.Fatalf("a0.%s at %v = %v, want %v", name, s.Time, s.Value, want)
			}
		}
	}
	for _, s := range rec.Good("a1.vib") {
		if want := 1000 * m1.SampleAt(at(s.Time)).Values[sim.Vibration]; s.Value != want {
			t.Fatalf("a1.vib at %v = %v, want %v", s.Time, s.Value, want)
		}
	}
}

func TestSecurityNoneValuesMissingNodesAndReconnect(t *testing.T) {
	addr := testutil.FreeAddr(t)
	start := time.Now()
	stop := startPLC(t, addr, start, nil)
	rec := &srctest.Recorder{}
	src := newSource(t, "opcua://"+addr, rec)
	srctest.Start(t, src, rec)
	srctest.Wait(t, 15*time.Second, "samples", func() bool { return len(rec.Good("a1.vib")) >= 5 })

	checkValues(t, rec, start)
	// An unknown node in a known namespace is reported as such; for an
	// unknown namespace the library's server only says "bad".
	for name, kind := range map[string]error{"ghost": sensors.ErrNoSuchPoint, "elsewhere": sensors.ErrReadFailed} {
		all := rec.Samples(name)
		if len(all) == 0 || len(rec.Bad(name, kind)) != len(all) {
			t.Errorf("%s: samples %v, want all flagged %v", name, all, kind)
		}
	}
	if len(rec.Good("a0.temperature")) == 0 {
		t.Error("no temperature samples next to the missing nodes")
	}
	if h := src.Health(); h.ReadErrors == 0 || h.Reads == 0 {
		t.Errorf("health %+v: want reads and read errors counted", h)
	}

	stop()
	killed := time.Now()
	srctest.Wait(t, 10*time.Second, "reconnecting", func() bool { return src.Health().State == sensors.StateReconnecting })
	time.Sleep(500 * time.Millisecond)
	restarted := time.Now()
	startPLC(t, addr, start, nil)
	srctest.Wait(t, 20*time.Second, "reconnected", func() bool {
		h := src.Health()
		return h.State == sensors.StateConnected && h.Reconnects == 1
	})
	srctest.Wait(t, 10*time.Second, "samples after restart", func() bool {
		g := rec.Good("a0.speed")
		return len(g) > 0 && g[len(g)-1].Time.After(restarted)
	})
	checkValues(t, rec, start)
	good := rec.Good("a0.speed")
	var gap time.Duration
	for k := 1; k < len(good); k++ {
		gap = max(gap, good[k].Time.Sub(good[k-1].Time))
	}
	if gap < restarted.Sub(killed) {
		t.Errorf("largest gap %v, want at least the outage %v", gap, restarted.Sub(killed))
	}
	if s := strings.Join(rec.States(), " "); !strings.Contains(s, "connected reconnecting") || !strings.HasSuffix(s, "connected") {
		t.Errorf("states %q: want connected → reconnecting → connected", s)
	}
}

// TestBasic256Sha256 runs the secure client against the library's server.
// gopcua v0.8.0's server cannot decrypt an asymmetric OpenSecureChannel
// request (gopcua/opcua#815, fixed upstream after v0.8.0 and not released),
// so against it the trusted case gets through discovery and the trust
// check, sends an encrypted OPN and fails there; the test pins that
// behaviour, and will fail, to be turned into a data test, once a fixed
// server is available. An untrusted server certificate is refused before
// any secure channel is opened.
func TestBasic256Sha256(t *testing.T) {
	dir := t.TempDir()
	server, client, other := makeKeyPair(t, dir, "server"), makeKeyPair(t, dir, "client"), makeKeyPair(t, dir, "other")
	addr := testutil.FreeAddr(t)
	startPLC(t, addr, time.Now(), &server)
	secure := func(serverCert string) (*Source, *srctest.Recorder) {
		rec := &srctest.Recorder{}
		u, _ := url.Parse("opcua://" + addr + "?security=basic256sha256&cert=" + client.certFile +
			"&key=" + client.keyFile + "&server_cert=" + serverCert)
		s, err := New(u, sensors.Options{Name: "line3", Points: points(), Interval: 100 * time.Millisecond,
			Timeout: time.Second, OnState: rec.OnState})
		if err != nil {
			t.Fatal(err)
		}
		srctest.Start(t, s, rec)
		return s.(*Source), rec
	}
	untrusted, rec := secure(other.certFile)
	trusted, _ := secure(server.certFile)
	srctest.Wait(t, 10*time.Second, "both failed", func() bool {
		return untrusted.Health().State == sensors.StateFailed && trusted.Health().State == sensors.StateFailed
	})
	if h := untrusted.Health(); !strings.Contains(h.Reason, errUntrusted.Error()) || len(rec.Samples("")) != 0 {
		t.Errorf("untrusted: health %+v with %d samples: want refused as untrusted, no samples", h, len(rec.Samples("")))
	}
	if h := trusted.Health(); strings.Contains(h.Reason, errUntrusted.Error()) || !strings.Contains(h.Reason, "connect opc.tcp://") {
		t.Errorf("trusted: health %+v: want past the trust check, failing in the secure channel", h)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	kp := makeKeyPair(t, dir, "c")
	cases := []struct {
		url  string
		pc   sensors.PointConfig
		want string
	}{
		{"opcua://h", sensors.PointConfig{Name: "p", Address: "i=1"}, "want opcua://HOST:PORT"},
		{"opcua://h:4840?security=sign", sensors.PointConfig{Name: "p", Address: "i=1"}, `security="sign"`},
		{"opcua://h:4840?security=basic256sha256", sensors.PointConfig{Name: "p", Address: "i=1"}, "cert: required"},
		{"opcua://h:4840?cert=" + kp.certFile, sensors.PointConfig{Name: "p", Address: "i=1"}, "need security=basic256sha256"},
		{"opcua://h:4840?security=basic256sha256&cert=" + kp.keyFile + "&key=" + kp.keyFile + "&server_cert=" + kp.certFile,
			sensors.PointConfig{Name: "p", Address: "i=1"}, "url parameter cert"},
		{"opcua://h:4840?security=basic256sha256&cert=" + kp.certFile + "&key=" + kp.certFile + "&server_cert=" + kp.certFile,
			sensors.PointConfig{Name: "p", Address: "i=1"}, "url parameter key"},
		{"opcua://h:4840", sensors.PointConfig{Name: "p", Address: "Motor1.Vibration"}, `point "p": address "Motor1.Vibration"`},
		{"opcua://h:4840", sensors.PointConfig{Name: "p", Address: "ns=2;s=x", Options: map[string]string{"field": "a"}}, `option "field": unknown`},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.url)
		_, err := New(u, sensors.Options{Name: "line3", Points: []sensors.PointConfig{c.pc}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `source "line3"`) {
			t.Errorf("%s %+v: error %v, want %q", c.url, c.pc, err, c.want)
		}
	}
}
