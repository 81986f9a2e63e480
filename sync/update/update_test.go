package update

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.10.0", "1.2.0", 1},
		{"1.2.0", "1.10.0", -1},
		{"1.0.0", "1.0.0", 0},
		{"1.0.0+build.7", "1.0.0", 0},
		{"0.1.0-untrained", "0.1.0", -1},
		{"0.1.0-untrained", "1.0.0", -1},
		{"1.0.0-rc.1", "1.0.0-rc.2", -1},
		{"1.0.0-rc.10", "1.0.0-rc.2", 1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-1", "1.0.0-alpha", -1},
		{"v2.0.0", "1.99.99", 1},
	} {
		got, err := CompareVersions(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-a..b"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}

// signed returns a signed manifest for data and the key that signed it.
func signed(t testing.TB, data []byte, version string) (*Manifest, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManifest("defect", version, data, 4, []string{"plant1/*/*"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Sign(m, priv); err != nil {
		t.Fatal(err)
	}
	return m, priv
}

func TestSignVerifyRoundTrip(t *testing.T) {
	m, priv := signed(t, []byte("0123456789"), "1.2.0")
	raw, _ := m.Marshal()
	got, err := ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr := Keyring{KeyID(priv.Public().(ed25519.PublicKey)): priv.Public().(ed25519.PublicKey)}
	if err := kr.Verify(got); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got.Chunks != 3 || got.ChunkLen(2) != 2 {
		t.Fatalf("chunks %d, last %d", got.Chunks, got.ChunkLen(2))
	}

	// Any change of a signed field breaks the signature, an unknown extra
	// field included.
	for name, edit := range map[string]func(map[string]any){
		"version": func(o map[string]any) { o["version"] = "9.9.9" },
		"targets": func(o map[string]any) { o["targets"] = []string{"*/*/*"} },
		"extra":   func(o map[string]any) { o["note"] = "added later" },
	} {
		var o map[string]any
		json.Unmarshal(raw, &o)
		edit(o)
		b, _ := json.Marshal(o)
		tm, err := ParseManifest(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := kr.Verify(tm); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s changed: verify = %v, want ErrBadSignature", name, err)
		}
	}
	other, _ := signed(t, []byte("0123456789"), "1.2.0")
	if err := kr.Verify(other); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("other key: %v, want ErrUnknownKey", err)
	}
}

func TestCanonicalIsSortedWithoutSignature(t *testing.T) {
	m, _ := signed(t, []byte("abc"), "1.0.0")
	c, err := m.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(c, []byte("signature")) || !bytes.HasPrefix(c, []byte(`{"chunk_size":4,"chunks":1,"created":"`)) {
		t.Fatalf("canonical form %s", c)
	}
}

func TestParseManifestRefuses(t *testing.T) {
	m, _ := signed(t, []byte("0123456789"), "1.2.0")
	raw, _ := m.Marshal()
	edit := func(f func(map[string]any)) []byte {
		var o map[string]any
		json.Unmarshal(raw, &o)
		f(o)
		b, _ := json.Marshal(o)
		return b
	}
	for _, tc := range []struct {
		name, want string
		payload    []byte
	}{
		{"not json", "not a JSON object", []byte("hello")},
		{"array", "not a JSON object", []byte("[1,2]")},
		{"missing sha256", "missing sha256", edit(func(o map[string]any) { delete(o, "sha256") })},
		{"missing several", "missing name, size", edit(func(o map[string]any) { delete(o, "name"); delete(o, "size") })},
		{"null version", "missing version", edit(func(o map[string]any) { o["version"] = nil })},
		{"bad version", "not MAJOR.MINOR.PATCH", edit(func(o map[string]any) { o["version"] = "latest" })},
		{"chunks mismatch", "chunks 2 does not fit", edit(func(o map[string]any) { o["chunks"] = 2 })},
		{"size as string", "cannot unmarshal", edit(func(o map[string]any) { o["size"] = "10" })},
		{"bad target", "not site/line/device", edit(func(o map[string]any) { o["targets"] = []string{"plant1"} })},
		{"short signature", "signature", edit(func(o map[string]any) { o["signature"] = "AAAA" })},
		{"bad name", "name \"../x\"", edit(func(o map[string]any) { o["name"] = "../x" })},
		{"huge", "more than", bytes.Repeat([]byte(" "), MaxManifestBytes+1)},
	} {
		_, err := ParseManifest(tc.payload)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrMalformed containing %q", tc.name, err, tc.want)
		}
	}
}

func TestForDevice(t *testing.T) {
	m := &Manifest{}
	if !m.ForDevice("a", "b", "c") {
		t.Fatal("no targets must match every device")
	}
	m.Targets = []string{"plant1/line3/lpc-0?", "plant2/*/*"}
	for _, tc := range []struct {
		site, line, dev string
		want            bool
	}{
		{"plant1", "line3", "lpc-07", true},
		{"plant1", "line3", "lpc-17", false},
		{"plant2", "x", "y", true},
		{"plant3", "line3", "lpc-07", false},
	} {
		if got := m.ForDevice(tc.site, tc.line, tc.dev); got != tc.want {
			t.Errorf("%s/%s/%s: %v, want %v", tc.site, tc.line, tc.dev, got, tc.want)
		}
	}
}

func TestParseChunkTopic(t *testing.T) {
	name, ver, i, err := ParseChunkTopic("lineside/v1", ChunkTopic("lineside/v1", "defect", "1.0.0", 12))
	if err != nil || name != "defect" || ver != "1.0.0" || i != 12 {
		t.Fatalf("%s %s %d %v", name, ver, i, err)
	}
	for _, bad := range []string{"lineside/v1/models/defect/manifest", "lineside/v1/models/d/1/chunks/-1", "lineside/v1/models/d/1/chunks/01", "other/models/d/1/chunks/1"} {
		if _, _, _, err := ParseChunkTopic("lineside/v1", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
