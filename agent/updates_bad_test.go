package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/update"
)

// TestUpdateBadInput sends one bad update per case to a device under a 30
// fps load: each is refused or fails with its reason on models/state, the
// configured version keeps serving, and no frame is lost.
func TestUpdateBadInput(t *testing.T) {
	r := newUpdateRig(t, testutil.StartBroker(t), t.TempDir(), func(c *UpdatesConfig) {
		c.MaxBytes = 6 * MiB
		c.ChunkTimeout = Duration(time.Second)
	})
	r.waitState("the configured version", 10*time.Second, serving(configuredVersion))
	good := readModel(t, defectFile)
	_, otherKey, _ := update.GenerateKey()
	const prefix = "lineside/v1"

	// send pushes data under manifest m, chunks first, then the manifest;
	// chunks lists the chunk indexes to send (nil: all).
	send := func(m *update.Manifest, data []byte, chunks []int) {
		if chunks == nil {
			for i := 0; i < m.Chunks; i++ {
				chunks = append(chunks, i)
			}
		}
		for _, i := range chunks {
			start := int64(i) * m.ChunkSize
			end := min(start+m.ChunkLen(i), int64(len(data)))
			publishRetained(r, update.ChunkTopic(prefix, "defect", m.Version, i), data[start:end])
		}
		raw, _ := m.Marshal()
		publishRetained(r, update.ManifestTopic(prefix, "defect"), raw)
	}
	signed := func(file, version string, edit func(*update.Manifest)) (*update.Manifest, []byte) {
		data := readModel(t, file)
		return r.manifest(data, version, edit), data
	}
	rawManifest := func(payload []byte) { publishRetained(r, update.ManifestTopic(prefix, "defect"), payload) }

	for _, tc := range []struct {
		name, want string
		run        func()
	}{
		{"bad signature", "bad signature", func() {
			m, data := signed(defectFile, "3.0.1", nil)
			raw, _ := m.Marshal()
			var o map[string]any
			json.Unmarshal(raw, &o)
			o["created"] = "2020-01-01T00:00:00Z"
			b, _ := json.Marshal(o)
			send(m, data, []int{})
			rawManifest(b)
		}},
		{"unknown key", "unknown signing key", func() {
			m, _ := update.NewManifest("defect", "3.0.2", good, 0, nil)
			update.Sign(m, otherKey)
			send(m, good, nil)
		}},
		{"sha256 mismatch", "sha256", func() {
			m, data := signed(defectFile, "3.0.3", nil)
			bad := append([]byte(nil), data...)
			bad[len(bad)/2] ^= 0xff
			send(m, bad, nil)
		}},
		{"truncated file", "bytes, want", func() {
			m, data := signed(defectFile, "3.0.4", nil)
			send(m, data[:len(data)-100], nil)
		}},
		{"chunk never comes", "timeout", func() {
			m, data := signed(defectFile, "3.0.5", nil)
			send(m, data, []int{0, 1, 2})
		}},
		{"not onnx", "validation", func() {
			m, data := signed("testdata/not-a-model.onnx", "3.0.6", nil)
			send(m, data, nil)
		}},
		{"wrong output shape", "score(s) per image", func() {
			m, data := signed("testdata/bad-output.onnx", "3.0.7", nil)
			send(m, data, nil)
		}},
		{"wrong input shape", "rank", func() {
			m, data := signed("testdata/bad-rank.onnx", "3.0.8", nil)
			send(m, data, nil)
		}},
		{"wrong task", "lineside.task", func() {
			m, data := signed("testdata/wrong-task.onnx", "3.0.9", nil)
			send(m, data, nil)
		}},
		{"replayed older version", "not newer than the serving", func() {
			m, data := signed(defectFile, "0.0.9", nil)
			send(m, data, nil)
		}},
		{"replayed equal version", "not newer than the serving", func() {
			m, data := signed(defectFile, configuredVersion, nil)
			send(m, data, nil)
		}},
		{"over max_bytes", "over updates.max_bytes", func() {
			data := append(append([]byte(nil), good...), make([]byte, 2<<20)...)
			m := r.manifest(data, "3.1.0", nil)
			send(m, data, []int{})
		}},
		{"not json", "not a JSON object", func() { rawManifest([]byte("version: 3.2.0")) }},
		{"missing fields", "missing sha256, signature", func() {
			rawManifest([]byte(`{"name":"defect","version":"3.2.1","size":10,"chunk_size":10,"chunks":1,"created":"2026-01-01T00:00:00Z","key_id":"0011223344556677"}`))
		}},
		{"chunk for unknown version", "unknown version 7.7.7", func() {
			topicName, payload := update.ChunkTopic(prefix, "defect", "7.7.7", 0), []byte("x")
			r.u.enqueue(func() { r.u.handleChunk(topicName, payload) })
		}},
		{"targets do not match", "do not match this device", func() {
			m, data := signed(defectFile, "3.3.0", func(m *update.Manifest) { m.Targets = []string{"plant9/*/*"} })
			send(m, data, []int{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.current().Updated
			tc.run()
			s := r.waitState(tc.want, 15*time.Second, func(s modelState) bool {
				return s.Updated.After(before) && (s.State == stateRefused || s.State == stateFailed) && strings.Contains(s.LastError, tc.want)
			})
			if s.Serving != configuredVersion || r.w.slot.Version() != configuredVersion {
				t.Fatalf("serving changed: state %+v, worker %s", s, r.w.slot.Version())
			}
			r.checkNoFrameLost()
		})
	}
}
