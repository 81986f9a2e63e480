package update

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"testing"
)

// FuzzParseManifest feeds arbitrary payloads to the manifest parser and
// verifier: they must never panic, and whatever parses must round-trip its
// canonical form.
func FuzzParseManifest(f *testing.F) {
	m, priv := signed(f, []byte("0123456789"), "1.2.0")
	raw, _ := m.Marshal()
	f.Add(raw)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"name":"d","version":"1.0.0","size":1,"sha256":"` + string(bytes.Repeat([]byte("a"), 64)) + `","chunk_size":1,"chunks":1,"created":"2026-01-01T00:00:00Z","key_id":"0011223344556677","signature":""}`))
	kr := Keyring{KeyID(priv.Public().(ed25519.PublicKey)): priv.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParseManifest(payload)
		if err != nil {
			return
		}
		if _, err := m.Canonical(); err != nil {
			t.Fatalf("parsed manifest has no canonical form: %v", err)
		}
		_ = kr.Verify(m)
		if m.Chunks <= 0 || m.ChunkLen(m.Chunks-1) <= 0 || m.ChunkLen(m.Chunks-1) > m.ChunkSize {
			t.Fatalf("inconsistent chunking accepted: %+v", m)
		}
	})
}

// FuzzAssemble stores chunks in a fuzzed order with fuzzed contents: the
// transfer must never panic and must assemble only the exact original file.
func FuzzAssemble(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte{3, 0, 1, 2, 2}, false)
	f.Add([]byte("x"), []byte{0}, true)
	f.Fuzz(func(t *testing.T, data, order []byte, corrupt bool) {
		if len(data) == 0 || len(data) > 4096 {
			return
		}
		m, err := NewManifest("defect", "1.0.0", data, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := OpenStore(t.TempDir())
		tr, err := s.Begin(m)
		if err != nil {
			t.Fatal(err)
		}
		for k, o := range order {
			i := int(o) % (m.Chunks + 1) // one past the end too
			c := m.Chunk(data, min(i, m.Chunks-1))
			if corrupt && k == 0 {
				c = append([]byte(nil), c...)
				c[0] ^= 0xff
			}
			if len(order) > 2 && k == 1 {
				c = binary.LittleEndian.AppendUint16(append([]byte(nil), c...), 7)
			}
			_ = tr.Put(i, c)
		}
		for _, i := range tr.Missing() {
			if err := tr.Put(i, m.Chunk(data, i)); err != nil {
				t.Fatal(err)
			}
		}
		path, err := tr.Assemble()
		if err != nil {
			return // a corrupted chunk was refused by the sha256 check
		}
		if got := readFile(t, path); !bytes.Equal(got, data) {
			t.Fatalf("assembled %q, want %q", got, data)
		}
	})
}
