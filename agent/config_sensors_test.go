package agent

import (
	"strings"
	"testing"
	"time"
)

// Parts of a valid sensors-and-assets config.
const (
	pdmModelOK = "models: {pdm: {path: models/pdm.onnx, metadata: {threshold.alarm: 0.6}}}\n"
	sensorsOK  = `sensors:
  - name: plc1
    source: "modbus://127.0.0.1:5020"
    points:
      - {name: m1_vib, address: "hr:0", type: float32, word_order: high_first}
      - {name: m1_temp, address: "hr:2", type: float32, scale: 0.1, min: -40, max: 200}
`
	assetsOK = `assets:
  - name: m1
    model: pdm
    features: {vibration_rms: m1_vib, temperature: m1_temp}
`
	pdmYAML = deviceOK + pdmModelOK + sensorsOK + assetsOK
)

func TestSensorsAndAssetsLoadWithDefaults(t *testing.T) {
	clearEnv(t)
	cfg := mustLoad(t, pdmYAML)
	if len(cfg.Sensors) != 1 || len(cfg.Assets) != 1 {
		t.Fatalf("sensors %d, assets %d", len(cfg.Sensors), len(cfg.Assets))
	}
	s, a := cfg.Sensors[0], cfg.Assets[0]
	if s.Interval.Std() != time.Second || s.Timeout.Std() != 2*time.Second {
		t.Errorf("interval %v timeout %v, want 1s 2s", s.Interval, s.Timeout)
	}
	if got := s.Points[1].Options(); got["scale"] != "0.1" || got["min"] != "-40" || got["type"] != "float32" || len(got) != 4 {
		t.Errorf("point options %v", got)
	}
	if a.TelemetryInterval.Std() != time.Minute || a.K != 3 || a.TimeScale != 1 || a.Tolerance != 0 || a.Warn != 0 {
		t.Errorf("asset defaults %+v", a)
	}
	cfg = mustLoad(t, deviceOK+pdmModelOK+sensorsOK+
		"assets: [{name: m1, model: pdm, features: {vibration_rms: m1_vib}, telemetry_interval: 0, k: 5, warn: 0.2, alarm: 0.4, tolerance: 5m, time_scale: 3600}]\n")
	a = cfg.Assets[0]
	if a.TelemetryInterval != 0 || a.K != 5 || a.Warn != 0.2 || a.Alarm != 0.4 || a.Tolerance.Std() != 5*time.Minute || a.TimeScale != 3600 {
		t.Errorf("asset %+v", a)
	}
}

func TestSensorsAndAssetsReject(t *testing.T) {
	clearEnv(t)
	base := deviceOK + pdmModelOK
	tests := []struct {
		name, yaml, path, value, msg string
	}{
		{"unknown point", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {temperature: m1_tmp}}]\n",
			"assets[0].features.temperature", `"m1_tmp"`, "is not a point of any sensor; did you mean m1_temp?"},
		{"unknown model", base + sensorsOK + "assets: [{name: m1, model: pdn, features: {temperature: m1_temp}}]\n",
			"assets[0].model", `"pdn"`, "is not one of the models"},
		{"model task from the config", deviceOK + "models: {pdm: {path: a.onnx, metadata: {task: defect_classification}}}\n" + sensorsOK + assetsOK,
			"assets[0].model", `"pdm"`, "has task defect_classification, want failure_prediction"},
		{"feature missing", deviceOK + "models: {pdm: {path: a.onnx, metadata: {features: [vibration_rms, temperature, current]}}}\n" + sensorsOK + assetsOK,
			"assets[0].features", "", "lacks the model's feature(s) current"},
		{"feature extra", deviceOK + "models: {pdm: {path: a.onnx, metadata: {features: [vibration_rms]}}}\n" + sensorsOK + assetsOK,
			"assets[0].features", "", "has feature(s) the model does not use: temperature"},
		{"no features", base + sensorsOK + "assets: [{name: m1, model: pdm}]\n", "assets[0].features", "{}", "is empty"},
		{"duplicate asset", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {a: m1_vib}}, {name: m1, model: pdm, features: {a: m1_vib}}]\n",
			"assets[1].name", `"m1"`, "is already the name of assets[0]"},
		{"warn above alarm", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {a: m1_vib}, warn: 0.7, alarm: 0.5}]\n",
			"assets[0].warn", "0.7", "is above alarm 0.5"},
		{"alarm above one", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {a: m1_vib}, alarm: 1.5}]\n",
			"assets[0].alarm", "1.5", "is not in (0, 1]"},
		{"k zero", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {a: m1_vib}, k: 0}]\n", "assets[0].k", "0", "is not between 1 and 1000"},
		{"telemetry too fast", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {a: m1_vib}, telemetry_interval: 10ms}]\n",
			"assets[0].telemetry_interval", "10ms", "is not 0 (disabled) or at least 1s"},
		{"asset key typo", base + sensorsOK + "assets: [{name: m1, model: pdm, features: {a: m1_vib}, tolerence: 1m}]\n",
			"assets[0].tolerence", "", "did you mean tolerance?"},
		{"duplicate point", base + "sensors: [{name: s1, source: \"sim://motor\", points: [{name: p, address: vibration_rms}]}, {name: s2, source: \"sim://pump\", points: [{name: p, address: speed}]}]\n",
			"sensors[1].points[0].name", `"p"`, "is already the name of sensors[0].points[0]"},
		{"point without address", base + "sensors: [{name: s1, source: \"sim://motor\", points: [{name: p}]}]\n",
			"sensors[0].points[0].address", `""`, "is required"},
		{"point option typo", base + "sensors: [{name: s1, source: \"sim://motor\", points: [{name: p, address: x, scal: 2}]}]\n",
			"sensors[0].points[0].scal", "", "did you mean scale?"},
		{"no points", base + "sensors: [{name: s1, source: \"sim://motor\"}]\n", "sensors[0].points", "[]", "is empty"},
		{"source without scheme", base + "sensors: [{name: s1, source: 10.0.0.7, points: [{name: p, address: x}]}]\n",
			"sensors[0].source", `"10.0.0.7"`, "is not a URL with a scheme"},
		{"interval too short", base + "sensors: [{name: s1, source: \"sim://motor\", interval: 1ms, points: [{name: p, address: x}]}]\n",
			"sensors[0].interval", "1ms", "is less than the minimum of 10ms"},
		{"bad sensor name", base + "sensors: [{name: \"plc 1\", source: \"sim://motor\", points: [{name: p, address: x}]}]\n",
			"sensors[0].name", `"plc 1"`, "may only contain"},
		{"metadata key typo", deviceOK + "models: {pdm: {path: a.onnx, metadata: {period: 120}}}\n", "models.pdm.metadata.period", "", "did you mean period_s?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml)
			errs := fieldErrors(t, err)
			fe, ok := findError(errs, tt.path)
			if !ok {
				t.Fatalf("no error at %s; got %v", tt.path, err)
			}
			if fe.Value != tt.value || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("%s: value %q msg %q; want value %q and msg containing %q", tt.path, fe.Value, fe.Msg, tt.value, tt.msg)
			}
		})
	}
}
