package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// KeyID returns the id of an ed25519 public key: hex of the first 8 bytes of
// its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// GenerateKey returns a new ed25519 key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// EncodePublicKey returns the text form of a public key: base64 (standard,
// padded) of its 32 bytes, the form updates.trusted_keys entries and .pub
// files hold.
func EncodePublicKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// EncodePrivateKey returns the text form of a private key: base64 of its
// 32-byte seed, the form .key files hold.
func EncodePrivateKey(priv ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(priv.Seed())
}

// ParsePublicKey decodes the base64 text of a public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("public key is not base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key has %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// ReadPrivateKey reads a private key file written by `lineside models keygen`.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: not a lineside private key (base64 of a %d-byte ed25519 seed)", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Keyring is a set of trusted public keys by key id.
type Keyring map[string]ed25519.PublicKey

// LoadKeyring builds a keyring from entries that are each a base64 public
// key or the path of a file holding one (a .pub file from keygen).
func LoadKeyring(entries []string) (Keyring, error) {
	kr := Keyring{}
	for i, e := range entries {
		text := e
		if pub, err := ParsePublicKey(e); err == nil {
			kr[KeyID(pub)] = pub
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil {
			return nil, fmt.Errorf("trusted key %d: neither a base64 ed25519 public key nor a readable file: %w", i, err)
		}
		text = string(b)
		pub, err := ParsePublicKey(text)
		if err != nil {
			return nil, fmt.Errorf("trusted key %d (%s): %w", i, e, err)
		}
		kr[KeyID(pub)] = pub
	}
	return kr, nil
}

// Sign sets m.KeyID and m.Signature with priv, after checking the other
// fields.
func Sign(m *Manifest, priv ed25519.PrivateKey) error {
	if err := m.checkUnsigned(); err != nil {
		return err
	}
	m.raw = nil
	m.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	m.Signature = ""
	msg, err := m.Canonical()
	if err != nil {
		return err
	}
	m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))
	return nil
}

// Verify checks that m is signed by the key its key_id names and that this
// key is in kr. It wraps ErrUnknownKey or ErrBadSignature.
func (kr Keyring) Verify(m *Manifest) error {
	pub, ok := kr[m.KeyID]
	if !ok {
		return fmt.Errorf("%w: key_id %s is not in the trusted keys", ErrUnknownKey, m.KeyID)
	}
	sig, err := decodeSignature(m.Signature)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	msg, err := m.Canonical()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("%w: does not match key %s", ErrBadSignature, m.KeyID)
	}
	return nil
}

func decodeSignature(s string) ([]byte, error) {
	sig, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	return sig, nil
}
