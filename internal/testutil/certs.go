package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Certs are PEM files made by MakeCerts: a CA, a broker certificate for
// 127.0.0.1 and localhost, a client certificate for mutual TLS, and a
// second, untrusted CA with a client certificate of its own.
type Certs struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	RogueCA, RogueCert, RogueKey                     string
}

// MakeCerts writes fresh certificates into dir.
func MakeCerts(t testing.TB, dir string) Certs {
	t.Helper()
	ca, caKey := newCert(t, nil, nil, "lineside test CA", true)
	rogue, rogueKey := newCert(t, nil, nil, "rogue CA", true)
	server, serverKey := newCert(t, ca, caKey, "127.0.0.1", false)
	client, clientKey := newCert(t, ca, caKey, "dev1", false)
	rc, rk := newCert(t, rogue, rogueKey, "dev1", false)
	w := func(name string, der []byte, typ string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return w(name, der, "EC PRIVATE KEY")
	}
	return Certs{
		CA: w("ca.pem", ca.Raw, "CERTIFICATE"), ServerCert: w("server.pem", server.Raw, "CERTIFICATE"), ServerKey: key("server.key", serverKey),
		ClientCert: w("client.pem", client.Raw, "CERTIFICATE"), ClientKey: key("client.key", clientKey),
		RogueCA: w("rogue-ca.pem", rogue.Raw, "CERTIFICATE"), RogueCert: w("rogue.pem", rc.Raw, "CERTIFICATE"), RogueKey: key("rogue.key", rk),
	}
}

var serial int64

func newCert(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	} else if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
		tmpl.DNSNames = []string{"localhost"}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// PasswordFile writes a mosquitto password file with the given users
// ("user:password" pairs) using mosquitto_passwd.
func PasswordFile(t testing.TB, dir string, users ...string) string {
	t.Helper()
	p := filepath.Join(dir, "passwd")
	for i, u := range users {
		user, pw, _ := strings.Cut(u, ":")
		args := []string{"-b", p, user, pw}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		tool := "mosquitto_passwd"
		if _, err := exec.LookPath(tool); err != nil {
			tool = "/usr/bin/mosquitto_passwd"
		}
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	return p
}

// FileAccess returns mosquitto.conf lines that let a broker started by a
// test read files in the test's private temporary directories: mosquitto
// started as root switches to the mosquitto user unless told otherwise.
func FileAccess() []string {
	if os.Geteuid() == 0 {
		return []string{"user root"}
	}
	return nil
}
