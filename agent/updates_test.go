package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/update"
)

// configuredVersion is the version the rig's config gives the reference
// model (a metadata override), so that the versions pushed in the tests are
// newer whatever version the committed model was trained as.
const configuredVersion = "0.1.0-test"

func serving(v string) func(modelState) bool {
	return func(s modelState) bool {
		return s.Serving == v && (s.State == stateProbation || s.State == stateServing)
	}
}

// TestUpdateHotSwapAndRestart pushes a new version while frames flow: it is
// fetched, swapped in without losing a frame, reported, recorded on disk,
// and served again after a restart.
func TestUpdateHotSwapAndRestart(t *testing.T) {
	broker := testutil.StartBroker(t)
	dir := t.TempDir()
	r := newUpdateRig(t, broker, dir, nil)
	r.waitState("the configured version", 10*time.Second, serving(configuredVersion))
	time.Sleep(300 * time.Millisecond) // frames on the configured version
	r.push(defectFile, "1.0.0")
	s := r.waitState("1.0.0 serving", 30*time.Second, serving("1.0.0"))
	if s.Previous != configuredVersion || s.SwapMS <= 0 {
		t.Fatalf("state %+v", s)
	}
	time.Sleep(300 * time.Millisecond)
	r.stop()
	r.checkNoFrameLost()
	if v := r.modelVersionsStored(); v[configuredVersion] == 0 || v["1.0.0"] == 0 {
		t.Fatalf("events by model_version %v: want both versions", v)
	}
	st, _ := update.OpenStore(dir)
	if p, _ := st.Pointers("defect"); p != (update.Pointers{Current: "1.0.0", Previous: configuredVersion}) {
		t.Fatalf("pointers %+v", p)
	}

	r2 := newUpdateRig(t, broker, dir, nil)
	if v := r2.w.slot.Version(); v != "1.0.0" {
		t.Fatalf("after a restart the worker serves %q, want 1.0.0", v)
	}
	// The retained manifest of the serving version comes again: no change.
	r2.waitState("1.0.0 after restart", 10*time.Second, serving("1.0.0"))
	time.Sleep(500 * time.Millisecond)
	if s := r2.current(); s.State == stateRefused || s.State == stateFetching {
		t.Fatalf("the serving version's manifest was handled again: %+v", s)
	}
}

// TestUpdateResumesAfterRestart stops the device halfway through a
// transfer: the restarted device keeps the chunks it had and fetches only
// the rest.
func TestUpdateResumesAfterRestart(t *testing.T) {
	broker := testutil.StartBroker(t)
	dir := t.TempDir()
	r := newUpdateRig(t, broker, dir, nil)
	data := readModel(t, defectFile)
	m := r.manifest(data, "1.0.0", nil)
	half := m.Chunks / 2
	for i := 0; i < half; i++ {
		if err := publishRetained(r, update.ChunkTopic("lineside/v1", "defect", "1.0.0", i), m.Chunk(data, i)); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := m.Marshal()
	publishRetained(r, update.ManifestTopic("lineside/v1", "defect"), raw)
	r.waitState("half the chunks", 20*time.Second, func(s modelState) bool { return s.Received == half })
	r.stop()
	chunks, _ := os.ReadDir(filepath.Join(dir, "defect", "1.0.0", "chunks"))
	if len(chunks) != half {
		t.Fatalf("%d chunk files on disk after the stop, want %d", len(chunks), half)
	}

	r2 := newUpdateRig(t, broker, dir, nil)
	s := r2.waitState("the resumed transfer", 10*time.Second, func(s modelState) bool { return s.State == stateFetching })
	if s.Received != half {
		t.Fatalf("resumed with %d chunks, want the %d on disk", s.Received, half)
	}
	for i := half; i < m.Chunks; i++ {
		publishRetained(r2, update.ChunkTopic("lineside/v1", "defect", "1.0.0", i), m.Chunk(data, i))
	}
	r2.waitState("1.0.0 serving", 30*time.Second, serving("1.0.0"))
	r2.stop()
	r2.checkNoFrameLost()
}

// TestUpdateWhileOffline pushes while the device is away: it catches up from
// the retained manifest and chunks when it comes back.
func TestUpdateWhileOffline(t *testing.T) {
	broker := testutil.StartBroker(t)
	dir := t.TempDir()
	r := newUpdateRig(t, broker, dir, nil)
	r.stop()
	r.push(defectFile, "1.1.0")
	r2 := newUpdateRig(t, broker, dir, nil)
	r2.waitState("1.1.0 serving", 30*time.Second, serving("1.1.0"))
	r2.stop()
	r2.checkNoFrameLost()
}

// TestRollbackCommand rolls a new version back with the rollback command's
// function (what {base}/cmd/rollback runs): the previous version serves
// again, the result says so, and the retained
// manifest of the version rolled back from is not taken again.
func TestRollbackCommand(t *testing.T) {
	broker := testutil.StartBroker(t)
	dir := t.TempDir()
	r := newUpdateRig(t, broker, dir, nil)
	r.push(defectFile, "1.0.0")
	r.waitState("1.0.0 serving", 30*time.Second, serving("1.0.0"))
	res, err := r.rollback(`{"model":"defect"}`)
	if err != nil || res["to"] != configuredVersion || res["from"] != "1.0.0" {
		t.Fatalf("rollback: %v %v", res, err)
	}
	s := r.waitState("rolled back", 10*time.Second, func(s modelState) bool { return s.State == stateRolledBack })
	if s.Serving != configuredVersion || !strings.Contains(s.LastError, "rollback command") {
		t.Fatalf("state %+v", s)
	}
	time.Sleep(300 * time.Millisecond)
	r.stop()
	r.checkNoFrameLost()

	// Restart: the configured file serves and the retained 1.0.0 manifest
	// stays refused.
	r2 := newUpdateRig(t, broker, dir, nil)
	if v := r2.w.slot.Version(); v != configuredVersion {
		t.Fatalf("after restart serving %q", v)
	}
	time.Sleep(time.Second)
	if v := r2.w.slot.Version(); v != configuredVersion {
		t.Fatalf("the rolled-back version was installed again: %q", v)
	}
	if _, err := r2.rollback(""); err == nil || !strings.Contains(err.Error(), "no previous version") {
		t.Fatalf("second rollback: %v", err)
	}
}

// TestAutoRollback swaps in versions that misbehave only on real frames: one
// whose every inference fails (NaN scores), one far slower than the old.
func TestAutoRollback(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/nan-on-dark.onnx", "inference errors"},
		{"testdata/slow.onnx", "median latency"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			r := newUpdateRig(t, testutil.StartBroker(t), t.TempDir(), nil)
			time.Sleep(time.Second) // a latency baseline for the old version
			r.push(tc.file, "2.0.0")
			s := r.waitState("an automatic rollback", 30*time.Second, func(s modelState) bool { return s.State == stateRolledBack })
			if s.Serving != configuredVersion || !strings.Contains(s.LastError, tc.want) {
				t.Fatalf("state %+v, want a rollback for %q", s, tc.want)
			}
			if v := r.w.slot.Version(); v != configuredVersion {
				t.Fatalf("worker serves %q", v)
			}
		})
	}
}
