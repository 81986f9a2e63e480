package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrTLSConfig is wrapped by LoadTLS errors.
var ErrTLSConfig = errors.New("invalid tls settings")

// TLSFiles names the PEM files of a TLS broker connection.
type TLSFiles struct {
	// CAFile holds the CA certificate(s) that signed the broker's
	// certificate; empty means the system's roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key for
	// mutual TLS; both or neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the broker's certificate;
	// empty means the host of the broker URL.
	ServerName string
}

// LoadTLS reads the files and returns the TLS settings for Config.TLS, or
// nil when no file is named (the system's roots, no client certificate).
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	if f.CAFile == "" && f.CertFile == "" && f.KeyFile == "" && f.ServerName == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ca file: %w", ErrTLSConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca file %s: no PEM certificate in it", ErrTLSConfig, f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("%w: cert file and key file go together", ErrTLSConfig)
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", ErrTLSConfig, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
