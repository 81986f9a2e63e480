package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// writeVisionConfig writes a daemon config whose camera entry gets the extra
// keys cam (a YAML flow mapping body) and whose model gets metadata.
func writeVisionConfig(t *testing.T, dir, broker, video string, fps int, cam, metadata string) string {
	t.Helper()
	yaml := fmt.Sprintf(`device: {site: s1, line: l1, id: dev1}
log: {level: debug}
store: {path: %q, lock_timeout: 1s}
mqtt: {broker: %q}
inference: {library: %q}
models:
  defect: {path: %q, metadata: {%s}}
cameras:
  - {name: cam1, source: "file://%s?loop=true", fps: %d, model: defect, %s}
http: {listen: ""}
`, filepath.Join(dir, "store", "lineside.db"), broker, testutil.ORTLibrary(t),
		testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"), metadata, video, fps, cam)
	p := filepath.Join(dir, "lineside.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSnapshotsOnDefect makes every frame a defect (the reference model
// never answers the ok label chosen here) and checks that each defect event
// names a snapshot that arrives on {base}/snapshots/{id} as a JPEG scaled
// to max_width, and that events of the ok label carry none.
func TestSnapshotsOnDefect(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 20, 640, 480)
	cfg := writeVisionConfig(t, dir, broker.URL(), video, 20,
		"snapshots: {mode: on_defect, max_width: 320, quality: 80}", "ok_label: crack")
	sub := subscribe(t, broker.URL(), "lineside/v1/#")
	d := startDaemon(t, cfg)
	evs := sub.waitEvents(10, 60*time.Second)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	evs = sub.settle(500 * time.Millisecond)
	checkSeqs(t, evs, 1)
	withSnap := 0
	for i, ev := range evs {
		if ev.Label == "crack" {
			if ev.Snapshot != nil {
				t.Fatalf("event %d: ok-label event has snapshot %q", i, *ev.Snapshot)
			}
			continue
		}
		if ev.Snapshot == nil || !strings.HasPrefix(*ev.Snapshot, "dev1:snapshot.cam1:") {
			t.Fatalf("event %d (label %s): snapshot %v, want an id dev1:snapshot.cam1:N", i, ev.Label, ev.Snapshot)
		}
		withSnap++
		topic := "lineside/v1/s1/l1/dev1/snapshots/" + *ev.Snapshot
		img := sub.Payload(topic)
		if img == nil {
			t.Fatalf("event %d: nothing received on %s", i, topic)
		}
		jc, err := jpeg.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("event %d: %s is not a JPEG: %v", i, topic, err)
		}
		if jc.Width != 320 || jc.Height != 240 {
			t.Fatalf("event %d: snapshot is %dx%d, want 320x240 (640x480 scaled to max_width 320)", i, jc.Width, jc.Height)
		}
	}
	if withSnap == 0 {
		t.Fatal("no defect event: the test did not exercise snapshots")
	}
}

// TestMQTTTrigger checks that a camera in trigger mode mqtt infers nothing
// until {base}/cmd/trigger arrives, then only frames of the trigger window.
func TestMQTTTrigger(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 20, 320, 240)
	cfg := writeVisionConfig(t, dir, broker.URL(), video, 20, "trigger: {mode: mqtt, window: 500ms}", "")
	sub := subscribe(t, broker.URL(), "lineside/v1/#")
	d := startDaemon(t, cfg)
	d.waitLog("state=streaming", 60*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(string(sub.Payload("lineside/v1/s1/l1/dev1/status")), `"online"`) {
		if time.Now().After(deadline) {
			t.Fatal("daemon never came online")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // frames flow, the gate keeps them back
	if n := len(sub.Events()); n != 0 {
		t.Fatalf("%d events before any trigger", n)
	}

	cmd := "lineside/v1/s1/l1/dev1/cmd/trigger"
	sent := time.Now()
	sub.client.Publish(cmd, 1, false, `{"camera":"cam1"}`).Wait()
	sub.waitEvents(1, 30*time.Second)
	evs := sub.settle(time.Second)
	t.Logf("%d events after the trigger", len(evs))
	// 500ms at 20 fps: about 10 frames; allow for start-up of the window and
	// a loaded machine.
	if len(evs) < 3 || len(evs) > 13 {
		t.Fatalf("%d events after one 500ms trigger at 20 fps, want about 10", len(evs))
	}
	for i, ev := range evs {
		if ev.TS.Before(sent.Add(-50 * time.Millisecond)) {
			t.Fatalf("event %d captured at %v, before the trigger at %v", i, ev.TS, sent)
		}
	}
	var reply struct {
		OK     bool           `json:"ok"`
		Result map[string]int `json:"result"`
	}
	if err := json.Unmarshal(sub.Payload(cmd+"/reply"), &reply); err != nil || !reply.OK || reply.Result["cameras"] != 1 {
		t.Fatalf("reply %s (%v)", sub.Payload(cmd+"/reply"), err)
	}
	sub.client.Publish(cmd, 1, false, `{"camera":"nope"}`).Wait()
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(string(sub.Payload(cmd+"/reply")), `"ok":false`) {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal for an unknown camera; reply %s", sub.Payload(cmd+"/reply"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	checkSeqs(t, sub.settle(300*time.Millisecond), 1)
}
