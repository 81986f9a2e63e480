package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// Parts of a valid config that test cases combine with the section under
// test.
const (
	deviceOK  = "device: {site: plant1, line: line3, id: lpc-07}\n"
	modelsOK  = "models: {defect: {path: models/defect.onnx}}\n"
	camerasOK = "cameras: [{name: cam1, source: \"file:///data/a.mp4\", fps: 10, model: defect}]\n"
	validYAML = deviceOK + modelsOK + camerasOK
)

// clearEnv blanks every LINESIDE_* variable for the test, so the machine's
// environment cannot change the outcome; empty variables count as unset.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, envPrefix) {
			t.Setenv(k, "")
		}
	}
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lineside.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	return LoadConfig(writeConfig(t, yaml))
}

func mustLoad(t *testing.T, yaml string) *Config {
	t.Helper()
	cfg, err := load(t, yaml)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return cfg
}

// fieldErrors returns the FieldErrors of a *ConfigError and fails otherwise.
func fieldErrors(t *testing.T, err error) []FieldError {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v (%T), want *ConfigError", err, err)
	}
	if len(ce.Errors) == 0 {
		t.Fatal("ConfigError without FieldErrors")
	}
	return ce.Errors
}

func findError(errs []FieldError, path string) (FieldError, bool) {
	for _, fe := range errs {
		if fe.Path == path {
			return fe, true
		}
	}
	return FieldError{}, false
}

func TestLoadConfigRejects(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name  string
		yaml  string
		path  string
		value string // the Value of the FieldError, as shown
		msg   string // a part of its Msg
	}{
		{"top-level typo", validYAML + "mqqt: {broker: tcp://x:1883}\n", "mqqt", "", "unknown key; did you mean mqtt?"},
		{"nested typo", validYAML + "mqtt: {brokr: tcp://x:1883}\n", "mqtt.brokr", "", "unknown key; did you mean broker?"},
		{"typo in list item", deviceOK + modelsOK + "cameras: [{name: cam1, source: \"file:///a.mp4\", fsp: 10, model: defect}]\n",
			"cameras[0].fsp", "", "unknown key; did you mean fps?"},
		{"key in the wrong section", validYAML + "mqtt: {ca_file: /etc/ca.pem}\n", "mqtt.ca_file", "", "did you mean tls.ca_file?"},
		{"unrelated key lists the valid ones", validYAML + "log: {colour: true}\n", "log.colour", "", "unknown key (want one of level, format)"},
		{"sensors not a list", validYAML + "sensors: {name: s1}\n", "sensors", "a mapping", "is not a list"},
		{"upper-case key", validYAML + "Log: {level: info}\n", "Log", "", "did you mean log?"},
		{"fps not a number", deviceOK + modelsOK + "cameras: [{name: cam1, source: \"file:///a.mp4\", fps: fast, model: defect}]\n",
			"cameras[0].fps", `"fast"`, "is not a number"},
		{"fps negative", deviceOK + modelsOK + "cameras: [{name: cam1, source: \"file:///a.mp4\", fps: -3, model: defect}]\n",
			"cameras[0].fps", "-3", "is not > 0"},
		{"fps too high", deviceOK + modelsOK + "cameras: [{name: cam1, source: \"file:///a.mp4\", fps: 5000, model: defect}]\n",
			"cameras[0].fps", "5000", "is more than 1000"},
		{"bad enum", validYAML + "log: {level: verbose}\n", "log.level", `"verbose"`, "is not one of debug, info, warn, error"},
		{"bad broker scheme", validYAML + "mqtt: {broker: \"http://broker:1883\"}\n", "mqtt.broker", `"http://broker:1883"`, `has scheme "http", want one of tcp, ssl, tls, mqtt, mqtts`},
		{"broker without port", validYAML + "mqtt: {broker: \"tcp://broker\"}\n", "mqtt.broker", `"tcp://broker"`, "has no valid port (e.g. tcp://broker:1883)"},
		{"broker not a URL", validYAML + "mqtt: {broker: broker.local}\n", "mqtt.broker", `"broker.local"`, "is not a broker URL"},
		{"duplicate camera names", deviceOK + modelsOK + "cameras:\n  - {name: cam1, source: \"file:///a.mp4\", model: defect}\n  - {name: cam1, source: \"file:///b.mp4\", model: defect}\n",
			"cameras[1].name", `"cam1"`, "is already the name of cameras[0]"},
		{"camera with unknown model", deviceOK + modelsOK + "cameras: [{name: cam1, source: \"file:///a.mp4\", model: defct}]\n",
			"cameras[0].model", `"defct"`, "is not one of the models (defect); did you mean defect?"},
		{"camera without model", deviceOK + modelsOK + "cameras: [{name: cam1, source: \"file:///a.mp4\"}]\n",
			"cameras[0].model", `""`, "is required"},
		{"camera source without scheme", deviceOK + modelsOK + "cameras: [{name: cam1, source: /dev/video0, model: defect}]\n",
			"cameras[0].source", `"/dev/video0"`, "is not a URL with a scheme"},
		{"cert without key", validYAML + "mqtt: {broker: \"ssl://b:8883\", tls: {cert_file: /etc/c.pem}}\n", "mqtt.tls.key_file", `""`, "is required when mqtt.tls.cert_file is set"},
		{"password without username", validYAML + "mqtt: {password_file: /etc/pw}\n", "mqtt.username", `""`, "is required when mqtt.password_file is set"},
		{"bad size", validYAML + "store: {max_bytes: 2 gigs}\n", "store.max_bytes", `"2 gigs"`, "is not a size (e.g. 2GiB, 500MB)"},
		{"size too small", validYAML + "store: {max_bytes: 1KiB}\n", "store.max_bytes", "1KiB", "is less than the minimum of 1MiB"},
		{"bad duration", validYAML + "store: {lock_timeout: 5 secs}\n", "store.lock_timeout", `"5 secs"`, "is not a duration (e.g. 250ms, 5s, 1m)"},
		{"duration without unit", validYAML + "mqtt: {keepalive: 30}\n", "mqtt.keepalive", "30", "give a unit"},
		{"keepalive not whole seconds", validYAML + "mqtt: {keepalive: 1500ms}\n", "mqtt.keepalive", "1.5s", "is not a whole number of seconds"},
		{"device id with slash", "device: {site: plant1, line: line3, id: lpc/07}\n" + modelsOK + camerasOK, "device.id", `"lpc/07"`, "may only contain letters, digits"},
		{"device id with wildcard", "device: {site: plant1, line: \"+\", id: lpc-07}\n" + modelsOK + camerasOK, "device.line", `"+"`, "may only contain"},
		{"empty required", "device: {site: \"\", line: line3, id: lpc-07}\n" + modelsOK + camerasOK, "device.site", `""`, "is required"},
		{"missing required", "device: {site: plant1, line: line3}\n" + modelsOK + camerasOK, "device.id", `""`, "is required"},
		{"inflight zero", validYAML + "mqtt: {inflight: 0}\n", "mqtt.inflight", "0", "is not between 1 and 65535"},
		{"inflight not an integer", validYAML + "mqtt: {inflight: 1.5}\n", "mqtt.inflight", "1.5", "is not an integer"},
		{"unknown provider", validYAML + "inference: {providers: [cuda, gpu]}\n", "inference.providers[1]", `"gpu"`, "is not one of tensorrt, cuda, openvino, cpu"},
		{"intra_threads zero", validYAML + "inference: {intra_threads: 0}\n", "inference.intra_threads", "0", "is not >= 1"},
		{"section not a mapping", "device: plant1\n" + modelsOK + camerasOK, "device", `"plant1"`, "is not a mapping (want keys site, line, id)"},
		{"list where a list is not wanted", validYAML + "log: {level: [info]}\n", "log.level", "a list", "is not a string"},
		{"cameras not a list", deviceOK + modelsOK + "cameras: {name: cam1}\n", "cameras", "a mapping", "is not a list"},
		{"model name with capitals", deviceOK + "models: {Defect: {path: a.onnx}}\n", "models.Defect", "", "is not a valid model name"},
		{"model without path", deviceOK + "models: {defect: {}}\n", "models.defect.path", `""`, "is required"},
		{"metadata typo", deviceOK + "models: {defect: {path: a.onnx, metadata: {ok_lable: ok}}}\n", "models.defect.metadata.ok_lable", "", "did you mean ok_label?"},
		{"metadata with prefix", deviceOK + "models: {defect: {path: a.onnx, metadata: {lineside.labels: a}}}\n", "models.defect.metadata.lineside.labels", "", "leave out the lineside. prefix"},
		{"duplicate YAML key", validYAML + "log: {level: info}\nlog: {format: json}\n", "log", "", "duplicate key (first at line 4)"},
		{"bad topic prefix", validYAML + "mqtt: {topic_prefix: \"lineside/#\"}\n", "mqtt.topic_prefix", `"lineside/#"`, "must not contain '+', '#'"},
		{"bad listen address", validYAML + "http: {listen: localhost}\n", "http.listen", `"localhost"`, "is not host:port"},
		{"metrics interval too short", validYAML + "status: {metrics_interval: 1ms}\n", "status.metrics_interval", "1ms", "is less than the minimum of 100ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.yaml)
			errs := fieldErrors(t, err)
			fe, ok := findError(errs, tc.path)
			if !ok {
				t.Fatalf("no error for %s; got:\n%v", tc.path, err)
			}
			if fe.Value != tc.value || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got %s: value %s, msg %q; want value %s, msg containing %q", fe.Path, fe.Value, fe.Msg, tc.value, tc.msg)
			}
			if !strings.Contains(err.Error(), fe.Error()) {
				t.Errorf("ConfigError %q does not include %q", err, fe.Error())
			}
			if !strings.HasPrefix(fe.Error(), tc.path+": "+strings.TrimSpace(tc.value+" ")) {
				t.Errorf("%q does not start with the path and the value", fe.Error())
			}
		})
	}
}

func TestLoadConfigReportsEveryError(t *testing.T) {
	clearEnv(t)
	yaml := `device:
  site: plant1
  line: line3
  id: lpc/07
log:
  level: verbose
mqtt:
  inflight: 0
cameras:
  - name: cam1
    source: "file:///a.mp4"
    fsp: 10
    model: defect
  - name: cam2
    source: "file:///b.mp4"
    fps: -3
    model: defect
models:
  defect:
    path: models/defect.onnx
`
	_, err := load(t, yaml)
	errs := fieldErrors(t, err)
	want := []struct {
		path string
		line int
	}{
		{"device.id", 4},
		{"log.level", 6},
		{"mqtt.inflight", 8},
		{"cameras[0].fsp", 12},
		{"cameras[1].fps", 16},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].Path != w.path || errs[i].Line != w.line {
			t.Errorf("error %d: got %s at line %d, want %s at line %d", i, errs[i].Path, errs[i].Line, w.path, w.line)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want)+1 {
		t.Errorf("want a header and one line per error, got:\n%s", err)
	}
	if !strings.Contains(err.Error(), `cameras[1].fps: -3 is not > 0 (line 16)`) {
		t.Errorf("error text lacks the fps line:\n%s", err)
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	clearEnv(t)
	_, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	for name, tc := range map[string]struct{ yaml, want string }{
		"syntax":    {"device:\n  site: [plant1\n", "line"},
		"top level": {"- a\n- b\n", "the top level is a list"},
		"two docs":  {validYAML + "---\nlog: {level: info}\n", "second YAML document"},
		"tab":       {"device:\n\tsite: plant1\n", "line 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.yaml)
			var ce *ConfigError
			if err == nil || errors.As(err, &ce) {
				t.Fatalf("got %v, want a plain error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	clearEnv(t)
	cfg := mustLoad(t, deviceOK+modelsOK+"cameras: [{name: cam1, source: \"file:///a.mp4\", model: defect}]\n")
	def := DefaultConfig()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"log", cfg.Log, def.Log},
		{"store", cfg.Store, def.Store},
		{"mqtt", cfg.MQTT, def.MQTT},
		{"inference", cfg.Inference, def.Inference},
		{"http", cfg.HTTP, def.HTTP},
		{"status", cfg.Status, def.Status},
		{"camera fps", cfg.Cameras[0].FPS, DefaultCameraFPS},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if cfg.Store.MaxBytes != 2*GiB || cfg.MQTT.Keepalive.Std() != 30*time.Second || cfg.MQTT.Inflight != 64 {
		t.Errorf("defaults differ from the documented ones: %+v %+v", cfg.Store, cfg.MQTT)
	}
	if got := cfg.MQTTClientID(); got != "lineside-lpc-07" {
		t.Errorf("MQTTClientID = %q", got)
	}
	if got := cfg.TopicLayout().Status(); got != "lineside/v1/plant1/line3/lpc-07/status" {
		t.Errorf("status topic = %q", got)
	}
	if got := cfg.ModelPath("defect"); got != "models/defect.onnx" {
		t.Errorf("ModelPath = %q", got)
	}
	if errs := cfg.Validate(); errs != nil {
		t.Errorf("Validate after LoadConfig: %v", errs)
	}
}

func TestLoadConfigValues(t *testing.T) {
	clearEnv(t)
	cfg := mustLoad(t, deviceOK+`
store: {max_bytes: 500MB, lock_timeout: 250ms}
mqtt:
  broker: mqtts://mqtt.example.com:8883
  client_id: line3-cam-pc
  tls: {ca_file: /etc/lineside/ca.pem, cert_file: c.pem, key_file: k.pem}
inference: {providers: "cuda, cpu", intra_threads: 4}
models:
  defect:
    path: a.onnx
    metadata: {labels: [ok, scratch, dent], input.layout: NCHW, input.scale: 255}
cameras:
  - &c1 {name: cam1, source: "file:///a.mp4", model: defect, fps: 12.5}
  - {<<: *c1, name: cam2}
http: {listen: ""}
`)
	if cfg.Store.MaxBytes != 500*MB || cfg.Store.LockTimeout.Std() != 250*time.Millisecond {
		t.Errorf("store = %+v", cfg.Store)
	}
	if !cfg.MQTT.UsesTLS() || cfg.MQTTClientID() != "line3-cam-pc" {
		t.Errorf("mqtt = %+v", cfg.MQTT)
	}
	if !reflect.DeepEqual(cfg.Inference.Providers, []string{"cuda", "cpu"}) || cfg.Inference.IntraThreads != 4 {
		t.Errorf("inference = %+v", cfg.Inference)
	}
	wantMeta := map[string]string{"labels": "ok,scratch,dent", "input.layout": "NCHW", "input.scale": "255"}
	if !reflect.DeepEqual(cfg.Models["defect"].Metadata, wantMeta) {
		t.Errorf("metadata = %v, want %v", cfg.Models["defect"].Metadata, wantMeta)
	}
	if len(cfg.Cameras) != 2 || cfg.Cameras[1].Name != "cam2" || cfg.Cameras[1].FPS != 12.5 || cfg.Cameras[1].Model != "defect" {
		t.Errorf("cameras = %+v", cfg.Cameras)
	}
	if cfg.HTTP.Listen != "" {
		t.Errorf("http.listen = %q, want disabled", cfg.HTTP.Listen)
	}
}

func TestLoadConfigEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("LINESIDE_MQTT_BROKER", "tcp://10.1.2.3:1884")
	t.Setenv("LINESIDE_MQTT_TLS_CA_FILE", "/etc/lineside/ca.pem")
	t.Setenv("LINESIDE_STORE_MAX_BYTES", "64MiB")
	t.Setenv("LINESIDE_DEVICE_ID", "lpc-99")
	t.Setenv("LINESIDE_INFERENCE_PROVIDERS", "openvino,cpu")
	t.Setenv("LINESIDE_MODELS_DEFECT_PATH", "/opt/defect.onnx")
	t.Setenv("LINESIDE_STATUS_METRICS_INTERVAL", "2s")
	t.Setenv("LINESIDE_LOG_FORMAT", "") // empty: the file's value stays

	// No mqtt, store, inference or status section and no device.id in the file.
	cfg := mustLoad(t, "device: {site: plant1, line: line3}\nlog: {format: json}\n"+modelsOK+camerasOK)
	checks := []struct {
		env       string
		got, want any
	}{
		{"LINESIDE_MQTT_BROKER", cfg.MQTT.Broker, "tcp://10.1.2.3:1884"},
		{"LINESIDE_MQTT_TLS_CA_FILE", cfg.MQTT.TLS.CAFile, "/etc/lineside/ca.pem"},
		{"LINESIDE_STORE_MAX_BYTES", cfg.Store.MaxBytes, 64 * MiB},
		{"LINESIDE_DEVICE_ID", cfg.Device.ID, "lpc-99"},
		{"LINESIDE_INFERENCE_PROVIDERS", cfg.Inference.Providers, []string{"openvino", "cpu"}},
		{"LINESIDE_MODELS_DEFECT_PATH", cfg.ModelPath("defect"), "/opt/defect.onnx"},
		{"LINESIDE_STATUS_METRICS_INTERVAL", cfg.Status.MetricsInterval, Duration(2 * time.Second)},
		{"LINESIDE_LOG_FORMAT", cfg.Log.Format, "json"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.env, c.got, c.want)
		}
	}
	if cfg.Store.Path != DefaultStorePath {
		t.Errorf("store.path = %q, want the default", cfg.Store.Path)
	}
}

func TestLoadConfigEnvOverridesFile(t *testing.T) {
	clearEnv(t)
	t.Setenv("LINESIDE_LOG_LEVEL", "debug")
	cfg := mustLoad(t, validYAML+"log: {level: warn}\n")
	if cfg.Log.Level != "debug" {
		t.Errorf("log.level = %q, want the environment's debug", cfg.Log.Level)
	}
}

func TestLoadConfigBadEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("LINESIDE_MQTT_INFLIGHT", "lots")
	t.Setenv("LINESIDE_LOG_LEVEL", "verbose")
	t.Setenv("LINESIDE_MQTT_KEEPALIVE", "30")
	_, err := load(t, validYAML+"log: {level: info}\n")
	errs := fieldErrors(t, err)
	for _, w := range []struct{ path, env, text string }{
		{"mqtt.inflight", "LINESIDE_MQTT_INFLIGHT", `mqtt.inflight: "lots" is not an integer (from LINESIDE_MQTT_INFLIGHT)`},
		{"log.level", "LINESIDE_LOG_LEVEL", `log.level: "verbose" is not one of debug, info, warn, error (from LINESIDE_LOG_LEVEL)`},
		{"mqtt.keepalive", "LINESIDE_MQTT_KEEPALIVE", `mqtt.keepalive: "30" is not a duration: give a unit`},
	} {
		fe, ok := findError(errs, w.path)
		if !ok || fe.Env != w.env || !strings.Contains(err.Error(), w.text) {
			t.Errorf("want %q in:\n%v", w.text, err)
		}
	}
}

func TestEnvVar(t *testing.T) {
	for path, want := range map[string]string{
		"mqtt.broker":            "LINESIDE_MQTT_BROKER",
		"mqtt.tls.ca_file":       "LINESIDE_MQTT_TLS_CA_FILE",
		"models.defect-cnn.path": "LINESIDE_MODELS_DEFECT_CNN_PATH",
	} {
		if got := EnvVar(path); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("model.onnx", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("models", 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoad(t, deviceOK+`
models: {defect: {path: model.onnx}, other: {path: models}, gone: {path: gone.onnx}}
cameras: [{name: cam1, source: "file:///nowhere.mp4", model: defect}]
inference: {library: libonnxruntime.so.1}
mqtt:
  broker: ssl://b:8883
  tls: {ca_file: `+filepath.Join(dir, "ca.pem")+`}
`)
	errs := cfg.CheckFiles()
	want := map[string]string{
		"models.gone.path":  "does not exist (relative to the working directory " + dir + ")",
		"models.other.path": "is a directory",
		"mqtt.tls.ca_file":  "does not exist",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, fe := range errs {
		if !strings.HasPrefix(fe.Msg, want[fe.Path]) || want[fe.Path] == "" || fe.Line == 0 {
			t.Errorf("unexpected %v (line %d)", fe, fe.Line)
		}
	}
	if !strings.Contains(errs[0].Error(), `"gone.onnx" does not exist`) {
		t.Errorf("error does not name the file: %v", errs[0])
	}
}

// TestSampleConfigs loads every sample in configs/, so that none can rot.
func TestSampleConfigs(t *testing.T) {
	clearEnv(t)
	root := testutil.RepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "configs", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d samples in configs/, want lineside.yaml and demo.yaml at least", len(files))
	}
	t.Chdir(root)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Cameras) == 0 || len(cfg.Models) == 0 {
				t.Errorf("sample has no camera or no model")
			}
			// The demo runs from the repository root with files from the
			// repository, so everything it names must be there.
			if filepath.Base(f) == "demo.yaml" {
				for _, fe := range cfg.CheckFiles() {
					t.Errorf("demo.yaml: %v", fe)
				}
			}
		})
	}
}
