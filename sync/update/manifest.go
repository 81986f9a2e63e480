// Package update carries model updates from the cloud to the line PCs over
// MQTT (DESIGN.md, "Model update protocol"): the signed manifest and its
// canonical form, ed25519 keys, semantic versions, the split of a model into
// retained chunks and their resumable reassembly on the device, and the
// on-disk layout of staged, serving and previous versions.
package update

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Limits of a manifest.
const (
	// DefaultChunkSize is the chunk size `lineside models push` uses.
	DefaultChunkSize = 256 << 10
	// MaxChunkSize bounds chunk_size so one chunk fits an MQTT message and
	// the device's memory comfortably.
	MaxChunkSize = 8 << 20
	// MaxManifestBytes bounds the manifest payload.
	MaxManifestBytes = 64 << 10
	// MaxTargets bounds the targets list.
	MaxTargets = 256
)

// Sentinel errors, wrapped by Parse and Verify so callers can tell the
// reasons apart.
var (
	// ErrMalformed means the manifest is not JSON or misses or mangles a field.
	ErrMalformed = errors.New("malformed manifest")
	// ErrUnknownKey means key_id names no trusted key.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrBadSignature means the signature does not match the manifest.
	ErrBadSignature = errors.New("bad signature")
)

// nameRE is the form of a model name, as in the agent's models section.
var nameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// Manifest describes one model version on the broker. Its canonical form
// (see Canonical) is what the ed25519 signature covers.
type Manifest struct {
	// Name is the model name, as in the agent's models section.
	Name string `json:"name"`
	// Version is the model's semantic version.
	Version string `json:"version"`
	// Size is the model file's size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the whole model file.
	SHA256 string `json:"sha256"`
	// ChunkSize is the size of every chunk but the last.
	ChunkSize int64 `json:"chunk_size"`
	// Chunks is the number of chunks, ceil(Size / ChunkSize).
	Chunks int `json:"chunks"`
	// Created is when the manifest was made (RFC 3339, UTC).
	Created time.Time `json:"created"`
	// Targets restricts the devices that take the update: each is a
	// "site/line/device" pattern with path.Match globs per level, e.g.
	// "plant1/*/*" or "plant1/line3/lpc-0?". Empty means every device.
	Targets []string `json:"targets,omitempty"`
	// KeyID names the signing key: hex of the first 8 bytes of the SHA-256
	// of the ed25519 public key (see KeyID).
	KeyID string `json:"key_id"`
	// Signature is the base64 (standard, padded) ed25519 signature of
	// Canonical.
	Signature string `json:"signature"`

	// raw is the payload the manifest was parsed from; its canonical form
	// keeps fields this version does not know, so they stay signed.
	raw []byte
}

// ParseManifest decodes and checks a manifest payload: JSON object, every
// required field present and well formed, chunks consistent with size and
// chunk_size. It does not verify the signature (see Keyring.Verify). Every
// error wraps ErrMalformed.
func ParseManifest(payload []byte) (*Manifest, error) {
	if len(payload) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(payload), MaxManifestBytes)
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(payload, &present); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %w", ErrMalformed, err)
	}
	var missing []string
	for _, k := range []string{"name", "version", "size", "sha256", "chunk_size", "chunks", "created", "key_id", "signature"} {
		if v, ok := present[k]; !ok || string(v) == "null" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s", ErrMalformed, strings.Join(missing, ", "))
	}
	m := &Manifest{}
	if err := json.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	m.raw = append([]byte(nil), payload...)
	return m, nil
}

// Check validates the fields of m, wrapping ErrMalformed. The signature
// fields may be empty only in a manifest about to be signed (see Sign, which
// calls checkUnsigned).
func (m *Manifest) Check() error {
	if err := m.checkUnsigned(); err != nil {
		return err
	}
	if len(m.KeyID) != 16 || !isHex(m.KeyID) {
		return fmt.Errorf("%w: key_id %q is not 16 hex digits", ErrMalformed, m.KeyID)
	}
	if _, err := decodeSignature(m.Signature); err != nil {
		return fmt.Errorf("%w: signature: %w", ErrMalformed, err)
	}
	return nil
}

// checkUnsigned validates every field but key_id and signature.
func (m *Manifest) checkUnsigned() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	switch {
	case !nameRE.MatchString(m.Name):
		return bad("name %q is not lower-case letters, digits, '_' and '-'", m.Name)
	case m.Size <= 0:
		return bad("size %d is not positive", m.Size)
	case len(m.SHA256) != 64 || !isHex(m.SHA256):
		return bad("sha256 %q is not 64 hex digits", m.SHA256)
	case m.ChunkSize <= 0 || m.ChunkSize > MaxChunkSize:
		return bad("chunk_size %d is not between 1 and %d", m.ChunkSize, MaxChunkSize)
	case int64(m.Chunks) != (m.Size+m.ChunkSize-1)/m.ChunkSize:
		return bad("chunks %d does not fit size %d and chunk_size %d (want %d)", m.Chunks, m.Size, m.ChunkSize, (m.Size+m.ChunkSize-1)/m.ChunkSize)
	case m.Created.IsZero():
		return bad("created is zero")
	case len(m.Targets) > MaxTargets:
		return bad("%d targets, more than %d", len(m.Targets), MaxTargets)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return bad("%w", err)
	}
	for _, t := range m.Targets {
		if err := checkTarget(t); err != nil {
			return bad("%w", err)
		}
	}
	return nil
}

// Canonical returns the bytes the signature covers: the manifest as a JSON
// object without its "signature" member, with object keys sorted bytewise at
// every level, no insignificant white space, numbers as written in the
// payload and strings escaped as Go's encoding/json escapes them. A parsed
// manifest keeps members this version does not know in its canonical form,
// so a newer publisher's extra fields stay covered by the signature.
func (m *Manifest) Canonical() ([]byte, error) {
	raw := m.raw
	if raw == nil {
		var err error
		if raw, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	delete(obj, "signature")
	return json.Marshal(obj) // maps marshal with sorted keys
}

// Marshal returns the manifest payload to publish.
func (m *Manifest) Marshal() ([]byte, error) {
	if m.raw != nil {
		return append([]byte(nil), m.raw...), nil
	}
	return json.Marshal(m)
}

// ChunkLen returns the length chunk i must have.
func (m *Manifest) ChunkLen(i int) int64 {
	if i == m.Chunks-1 {
		return m.Size - int64(i)*m.ChunkSize
	}
	return m.ChunkSize
}

// Digest returns a short identifier of this exact manifest (hex of the first
// 8 bytes of its file SHA-256 plus the version), used to remember failures.
func (m *Manifest) Digest() string { return m.Version + "@" + m.SHA256[:16] }

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
