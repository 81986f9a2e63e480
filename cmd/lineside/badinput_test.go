package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// runOnce runs the binary from the repository root to completion and returns its exit code and output.
func runOnce(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = testutil.RepoRoot(t) // as `make run` does: configs/ paths are relative to it
	cmd.Env = append(os.Environ(), "LINESIDE_ORT_LIBRARY=")
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		t.Fatalf("%v did not exit within %s", args, timeout)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestStartupFailuresExitWithAClearMessage(t *testing.T) {
	dir := t.TempDir()
	video := testutil.WriteVideo(t, dir, 5, 64, 48)
	broker := "tcp://127.0.0.1:1" // never contacted: start-up fails before
	notONNX := filepath.Join(dir, "not.onnx")
	os.WriteFile(notONNX, []byte("this is not a model"), 0o644)
	cases := []struct {
		name  string
		cfg   testConfig
		code  int
		wants []string
	}{
		{
			name:  "missing onnx runtime library",
			cfg:   testConfig{Library: filepath.Join(dir, "nope", "libonnxruntime.so.1")},
			code:  exitRuntime,
			wants: []string{"onnx runtime unavailable", filepath.Join(dir, "nope", "libonnxruntime.so.1")},
		},
		{
			name:  "missing model",
			cfg:   testConfig{Model: filepath.Join(dir, "missing.onnx")},
			code:  exitModel,
			wants: []string{"models.defect", "missing.onnx"},
		},
		{
			name:  "model with the wrong input rank",
			cfg:   testConfig{Model: testutil.Path(t, "models", "testdata", "bad-rank.onnx")},
			code:  exitModel,
			wants: []string{"models.defect", "rank 3", "want 4"},
		},
		{
			name:  "file that is not a model",
			cfg:   testConfig{Model: notONNX},
			code:  exitModel,
			wants: []string{"models.defect", "not.onnx"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Dir, c.cfg.Broker, c.cfg.Video = t.TempDir(), broker, video
			code, out := runOnce(t, 60*time.Second, "run", "--config", c.cfg.write(t))
			if code != c.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, c.code, out)
			}
			for _, w := range c.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Errorf("output shows a panic:\n%s", out)
			}
		})
	}
}

func TestLibrarySearchSaysEveryPlaceLooked(t *testing.T) {
	dir := t.TempDir()
	video := testutil.WriteVideo(t, dir, 5, 64, 48)
	cfgPath := testConfig{Dir: dir, Broker: "tcp://127.0.0.1:1", Video: video, Library: "x"}.write(t)
	// An empty library means "search"; run from a directory without third_party.
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), `library: "x"`, `library: ""`, 1)), 0o644)
	cmd := exec.Command(binary, "run", "--config", cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LINESIDE_ORT_LIBRARY="+filepath.Join(dir, "env-lib.so"))
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitRuntime {
		t.Fatalf("exit code %d, want %d:\n%s", code, exitRuntime, out)
	}
	for _, w := range []string{filepath.Join(dir, "env-lib.so"), "/usr/lib/lineside/libonnxruntime.so.1"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("message does not list %s:\n%s", w, out)
		}
	}
}

func TestStoreLockedByAnotherInstance(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 5, 64, 48)
	cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: true, FPS: 5}.write(t)
	first := startDaemon(t, cfg)
	first.waitLog("lineside running", 60*time.Second)
	code, out := runOnce(t, 60*time.Second, "run", "--config", cfg)
	if code != exitLocked || !strings.Contains(out, "another lineside instance") || !strings.Contains(out, "lineside.db") {
		t.Fatalf("second instance: exit %d, output:\n%s", code, out)
	}
	if c := first.stop(); c != 0 {
		t.Fatalf("first instance exit %d", c)
	}
}

func TestInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	os.WriteFile(p, []byte("device: {site: s, line: l, id: d}\ncameras:\n  - {name: c, source: \"file://x\", fsp: 3, model: m}\n"), 0o644)
	for _, args := range [][]string{{"run", "--config", p}, {"config", "check", "--config", p}} {
		code, out := runOnce(t, 30*time.Second, args...)
		if code != exitConfig {
			t.Fatalf("%v: exit %d, want %d:\n%s", args, code, exitConfig, out)
		}
		for _, w := range []string{"cameras[0].fsp: unknown key", "did you mean fps", "cameras[0].model"} {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", args, w, out)
			}
		}
	}
	code, out := runOnce(t, 30*time.Second, "config", "check", "--config", testutil.Path(t, "configs", "demo.yaml"))
	if code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("demo.yaml: exit %d: %s", code, out)
	}
}

// TestBadVideoKeepsRunning checks that a missing or corrupt video is reported
// by the camera's state while the daemon keeps running and stops cleanly.
func TestBadVideoKeepsRunning(t *testing.T) {
	broker := testutil.StartBroker(t)
	for _, kind := range []string{"missing", "corrupt"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			video := filepath.Join(dir, "video.avi")
			want := "no such file"
			if kind == "corrupt" {
				os.WriteFile(video, []byte(strings.Repeat("garbage ", 4096)), 0o644)
				want = "cannot be decoded"
			}
			cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: true}.write(t)
			d := startDaemon(t, cfg)
			d.waitLog("lineside running", 60*time.Second)
			d.waitLog(want, 30*time.Second)
			if !strings.Contains(d.Logs(), "state=failed") {
				t.Fatalf("camera state not reported as failed:\n%s", d.Logs())
			}
			if code := d.stop(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			if strings.Contains(d.Logs(), "panic") {
				t.Fatalf("panic:\n%s", d.Logs())
			}
		})
	}
}
