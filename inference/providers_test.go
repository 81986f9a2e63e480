package inference

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

func TestProviderChain(t *testing.T) {
	cases := []struct {
		in, want []string
	}{
		{nil, []string{"cpu"}},
		{[]string{"cpu"}, []string{"cpu"}},
		{[]string{"tensorrt", "cuda", "cpu"}, []string{"tensorrt", "cuda", "cpu"}},
		{[]string{"cuda"}, []string{"cuda", "cpu"}},                                 // cpu is always the last resort
		{[]string{"cuda", "cpu", "openvino"}, []string{"cuda", "cpu"}},              // nothing after cpu is tried
		{[]string{"CUDA", "cuda", "openvino"}, []string{"cuda", "openvino", "cpu"}}, // case, duplicates
	}
	for _, c := range cases {
		if got := providerChain(c.in); !slices.Equal(got, c.want) {
			t.Errorf("providerChain(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestProvidersValidated(t *testing.T) {
	for _, p := range []string{"tensorrt", "cuda", "openvino", "cpu"} {
		if err := (RuntimeConfig{Providers: []string{p}}).validate(); err != nil {
			t.Errorf("%s refused: %v", p, err)
		}
	}
	err := (RuntimeConfig{Providers: []string{"cpu", "rocm"}}).validate()
	if err == nil || !strings.Contains(err.Error(), "inference.providers[1]") || !strings.Contains(err.Error(), "rocm") {
		t.Fatalf("rocm: %v", err)
	}
}

// sessionCreator returns a create function for newSession that opens a real
// session on the reference model and closes it again, counting calls.
func sessionCreator(t *testing.T, calls *int) func(*ort.SessionOptions) error {
	t.Helper()
	info, err := probeIO(defectModel(t))
	if err != nil {
		t.Fatal(err)
	}
	return func(opts *ort.SessionOptions) error {
		*calls++
		s, err := ort.NewDynamicAdvancedSession(defectModel(t),
			[]string{info.inputs[0].Name}, []string{info.outputs[0].Name}, opts)
		if err != nil {
			return err
		}
		return s.Destroy()
	}
}

// logLines returns a logger writing text lines into the returned buffer.
func logLines() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// TestProviderFallbackToCPU runs on the CPU-only ONNX Runtime build that
// `make setup` installs, in which every accelerator fails to register: the
// model must still load, on the CPU, with one log line naming each provider
// that was skipped and why.
func TestProviderFallbackToCPU(t *testing.T) {
	initORT(t)
	var calls int
	log, buf := logLines()
	used, err := newSession(defectModel(t), 1, []string{"tensorrt", "cuda", "openvino", "cpu"}, log, sessionCreator(t, &calls))
	if err != nil {
		t.Fatalf("no fallback to cpu: %v", err)
	}
	if used != ProviderCPU {
		t.Fatalf("provider %q, want cpu on a CPU-only build", used)
	}
	if calls != 1 {
		t.Errorf("%d sessions created, want 1: providers that fail to register must not cost a session", calls)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	t.Log(lines[0])
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want exactly 1:\n%s", len(lines), buf)
	}
	for _, w := range []string{"level=WARN", "falling back", "provider=cpu", "tried=tensorrt,cuda,openvino,cpu",
		"tensorrt: ", "cuda: ", "openvino: "} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("log line lacks %q: %s", w, lines[0])
		}
	}
}

// TestProviderCPUOnly checks the plain case: one informational line.
func TestProviderCPUOnly(t *testing.T) {
	initORT(t)
	var calls int
	log, buf := logLines()
	used, err := newSession(defectModel(t), 1, []string{"cpu"}, log, sessionCreator(t, &calls))
	if err != nil || used != ProviderCPU {
		t.Fatalf("used %q, err %v", used, err)
	}
	if out := buf.String(); strings.Count(out, "\n") != 1 || !strings.Contains(out, "level=INFO") || strings.Contains(out, "falling back") {
		t.Fatalf("log:\n%s", out)
	}
}

// TestProviderCPUFailureIsReturned checks that a failing CPU session, the
// last resort, is the error newSession returns, and that nothing is logged
// as if the model had loaded.
func TestProviderCPUFailureIsReturned(t *testing.T) {
	initORT(t)
	var calls int
	real := sessionCreator(t, &calls)
	failFirst := func(opts *ort.SessionOptions) error {
		if calls == 0 {
			calls++
			return errors.New("engine build failed")
		}
		return real(opts)
	}
	log, buf := logLines()
	if _, err := newSession(defectModel(t), 1, []string{"cpu"}, log, failFirst); err == nil || !strings.Contains(err.Error(), "engine build failed") {
		t.Fatalf("err %v, want the cpu session's failure", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("a failed load logged a provider line:\n%s", buf)
	}
}

func TestClassifierReportsProvider(t *testing.T) {
	if p := loadDefect(t).Provider(); p != ProviderCPU {
		t.Fatalf("Provider() = %q, want cpu", p)
	}
}
