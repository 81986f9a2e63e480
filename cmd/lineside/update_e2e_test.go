package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// lineside runs the built binary with args and returns its stdout; a
// failure fails the test with stderr.
func lineside(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lineside %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// modelState reads the retained models/state of dev1 for model defect.
func modelState(sub *subscriber) map[string]any {
	var p struct {
		Models map[string]map[string]any `json:"models"`
	}
	json.Unmarshal(sub.Payload("lineside/v1/s1/l1/dev1/models/state"), &p)
	return p.Models["defect"]
}

func waitServing(t *testing.T, sub *subscriber, version string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s := modelState(sub); s["serving"] == version && (s["state"] == "probation" || s["state"] == "serving") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("models/state never showed %s serving; last %v", version, modelState(sub))
}

// TestModelsCLIEndToEnd drives the cloud-side commands against the daemon:
// keygen, inspect, push (the daemon swaps the model in while its camera
// runs), list, a restart that keeps the new version, and clear.
func TestModelsCLIEndToEnd(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	key := filepath.Join(dir, "publisher")
	if out := lineside(t, "models", "keygen", "--out", key); !strings.Contains(out, "key_id ") {
		t.Fatalf("keygen: %s", out)
	}
	model := testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx")
	if out := lineside(t, "models", "inspect", "--library", testutil.ORTLibrary(t), model); !strings.Contains(out, "task     defect_classification") ||
		!strings.Contains(out, "input    image") || !strings.Contains(out, "ok       fits") {
		t.Fatalf("inspect: %s", out)
	}
	cmd := exec.Command(binary, "models", "inspect", "--library", testutil.ORTLibrary(t), testutil.Path(t, "models", "testdata", "bad-output.onnx"))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "problem") {
		t.Fatalf("inspect of a bad model: %v\n%s", err, out)
	}

	video := testutil.WriteVideo(t, dir, 20, 160, 120)
	// The configured version is set in the config, so that the pushed 1.2.0
	// is newer whatever version the committed model was trained as.
	cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: true, FPS: 30, Metadata: `version: "0.1.0-test"`}.write(t)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("updates: {trusted_keys: [" + key + ".pub], rollback: {latency_factor: 0}}\n")
	f.Close()
	sub := subscribe(t, broker.URL(), "lineside/v1/#")
	d := startDaemon(t, cfg)
	waitServing(t, sub, "0.1.0-test", 60*time.Second)

	out := lineside(t, "models", "push", "--broker", broker.URL(), "--key", key+".key",
		"--name", "defect", "--version", "1.2.0", "--targets", "s1/*/*", model)
	if !strings.Contains(out, "pushed defect 1.2.0") {
		t.Fatalf("push: %s", out)
	}
	waitServing(t, sub, "1.2.0", 60*time.Second)
	n := len(sub.Events())
	evs := sub.waitEvents(n+5, 30*time.Second)
	if v := evs[len(evs)-1].ModelVersion; v != "1.2.0" {
		t.Fatalf("events after the swap carry model_version %q", v)
	}
	if out := lineside(t, "models", "list", "--broker", broker.URL()); !strings.Contains(out, "s1/l1/dev1") || !strings.Contains(out, "1.2.0") {
		t.Fatalf("list: %s", out)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	d = startDaemon(t, cfg)
	d.waitLog("lineside running", 60*time.Second)
	n = len(sub.Events())
	evs = sub.waitEvents(n+3, 30*time.Second)
	if v := evs[len(evs)-1].ModelVersion; v != "1.2.0" {
		t.Fatalf("after a restart events carry model_version %q, want 1.2.0", v)
	}
	if out := lineside(t, "models", "clear", "--broker", broker.URL(), "--name", "defect", "--version", "1.2.0"); !strings.Contains(out, "cleared") {
		t.Fatalf("clear: %s", out)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
