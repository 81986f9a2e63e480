package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// simAsset is the sensors and assets entries of one simulated machine
// watched by the pdm model; extra is added to its asset entry.
func simAsset(name, kind string, n int, extra string) (sensor, asset string) {
	sensor = fmt.Sprintf("  - {name: %s, source: \"sim://%s?seed=25&asset=%d&speed=3600\", points: ["+
		"{name: %[1]s_vib, address: vibration_rms}, {name: %[1]s_temp, address: temperature}, "+
		"{name: %[1]s_cur, address: current}, {name: %[1]s_speed, address: speed}]}\n", name, kind, n)
	asset = fmt.Sprintf("  - {name: %s, model: pdm, time_scale: 3600, telemetry_interval: 0%s, features: "+
		"{vibration_rms: %[1]s_vib, temperature: %[1]s_temp, current: %[1]s_cur, speed: %[1]s_speed}}\n", name, extra)
	return sensor, asset
}

// TestReloadSensors reloads the sensors and assets of a running daemon
// against mosquitto: new thresholds go in force in place, an added
// simulated machine starts producing health events, an invalid config is
// refused while the running pipeline keeps producing, and a removed
// machine stops.
func TestReloadSensors(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	head := fmt.Sprintf(`device: {site: s1, line: l1, id: dev1}
log: {level: info}
store: {path: %q, lock_timeout: 1s}
mqtt: {broker: %q}
inference: {library: %q}
models:
  pdm: {path: %q}
http: {listen: ""}
`, filepath.Join(dir, "store", "lineside.db"), broker.URL(), testutil.ORTLibrary(t),
		testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx"))
	write := func(sensors, assets []string) {
		t.Helper()
		y := head + "sensors:\n" + strings.Join(sensors, "") + "assets:\n" + strings.Join(assets, "")
		if err := os.WriteFile(filepath.Join(dir, "lineside.yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s1, a1 := simAsset("m1", "motor", 0, "")
	_, a1low := simAsset("m1", "motor", 0, ", warn: 0.000001, alarm: 0.000001, k: 1")
	s2, a2 := simAsset("m2", "pump", 2, "")
	write([]string{s1}, []string{a1})

	w := watchPDM(t, broker.URL(), "lineside/v1/s1/l1/dev1")
	sub := subscribe(t, broker.URL(), "lineside/v1/s1/l1/dev1/cmd/#")
	d := startDaemon(t, filepath.Join(dir, "lineside.yaml"))
	// inferred waits for an inferred health event of asset from the n-th
	// event on that satisfies ok.
	inferred := func(asset string, from int, ok func(pdmEvent) bool) {
		t.Helper()
		if err := testutil.WaitFor(20*time.Second, func() bool {
			evs := w.Events()
			for _, e := range evs[min(from, len(evs)):] {
				if e.Asset == asset && e.PFail != nil && ok(e) {
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("no inferred health event of %s from event %d on: %v", asset, from, err)
		}
	}
	always := func(pdmEvent) bool { return true }
	inferred("m1", 0, always)
	for _, e := range w.Events() {
		if e.Asset == "m1" && e.State == "alarm" {
			t.Fatalf("m1 in alarm with the model's thresholds: %+v", e)
		}
	}

	// Thresholds in place: every window now reaches the alarm level.
	write([]string{s1}, []string{a1low})
	r := sub.command("reload", "")
	res := string(r.Result)
	if !r.OK || !strings.Contains(res, `"thresholds":["m1"]`) || !strings.Contains(res, `"sensors_restarted":false`) ||
		!strings.Contains(res, `"restart_required":[]`) {
		t.Fatalf("threshold reload: %+v %s", r, res)
	}
	inferred("m1", len(w.Events()), func(e pdmEvent) bool { return e.State == "alarm" })

	// An added machine produces health events; the first one keeps running.
	write([]string{s1, s2}, []string{a1low, a2})
	r = sub.command("reload", "")
	if res := string(r.Result); !r.OK || !strings.Contains(res, `"sensors_restarted":true`) || !strings.Contains(res, `"restart_required":[]`) {
		t.Fatalf("reload adding m2: %+v %s", r, res)
	}
	n := len(w.Events())
	inferred("m2", n, always)
	inferred("m1", n, always)

	// An asset fed by a point no sensor has is refused; both keep running.
	write([]string{s1, s2}, []string{a1low, strings.Replace(a2, "m2_speed}", "nope}", 1)})
	r = sub.command("reload", "")
	if r.OK || r.Error == nil || !strings.Contains(*r.Error, "assets[1].features.speed") || !strings.Contains(*r.Error, `"nope"`) {
		t.Fatalf("invalid reload: %+v", r)
	}
	n = len(w.Events())
	inferred("m1", n, always)
	inferred("m2", n, always)

	// SIGHUP: the added machine is removed and stops producing events.
	write([]string{s1}, []string{a1low})
	d.cmd.Process.Signal(syscall.SIGHUP)
	if err := testutil.WaitFor(10*time.Second, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		_, has := w.status["m2"]
		return w.status != nil && !has
	}); err != nil {
		t.Fatalf("m2 still in the retained status after SIGHUP")
	}
	time.Sleep(time.Second) // the stopped pipeline's last batch goes out
	n = len(w.Events())
	inferred("m1", n, always)
	time.Sleep(time.Second)
	for _, e := range w.Events()[n:] {
		if e.Asset == "m2" {
			t.Fatalf("m2 produced a health event after it was removed: %+v", e)
		}
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
