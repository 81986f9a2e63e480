package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/ledger"
	"github.com/lineside/lineside/sync/outbox"
)

// chaosConfig writes a daemon config for the crash and fault tests: n file
// cameras looping one video at fps (the synthetic camera is not part of the
// build yet; the sensor simulator is not wired into the agent yet).
type chaosConfig struct {
	Dir, Broker, Video string
	Cameras            int
	FPS                int
	MaxBytes           string // store.max_bytes; "" takes the default
	Snapshots          bool   // a JPEG snapshot of every frame
	MQTT               string // extra mqtt keys, "k: v, ..."
}

func (c chaosConfig) write(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "device: {site: s1, line: l1, id: dev1}\nlog: {level: info}\n")
	fmt.Fprintf(&b, "store: {path: %q, lock_timeout: 2s", storePath(c.Dir))
	if c.MaxBytes != "" {
		fmt.Fprintf(&b, ", max_bytes: %s", c.MaxBytes)
	}
	fmt.Fprintf(&b, "}\nmqtt: {broker: %q, inflight: 64", c.Broker)
	if c.MQTT != "" {
		fmt.Fprintf(&b, ", %s", c.MQTT)
	}
	fmt.Fprintf(&b, "}\ninference: {library: %q}\nhttp: {listen: \"\"}\nstatus: {metrics_interval: 500ms}\n", testutil.ORTLibrary(t))
	if c.Cameras > 0 {
		fmt.Fprintf(&b, "models:\n  defect: {path: %q}\ncameras:\n", testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"))
		for i := 1; i <= c.Cameras; i++ {
			fmt.Fprintf(&b, "  - {name: cam%d, source: \"file://%s?loop=true\", fps: %d, model: defect", i, c.Video, c.FPS)
			if c.Snapshots {
				b.WriteString(", snapshots: {mode: every_n, every_n: 1, quality: 95}")
			}
			b.WriteString("}\n")
		}
	}
	p := filepath.Join(c.Dir, "lineside.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func storePath(dir string) string { return filepath.Join(dir, "store", "lineside.db") }

// storedIDs opens the store of a stopped daemon and returns the ids of the
// records still in it, and those listed in drop reports still in it (both
// are accounted for: the next run publishes them).
func storedIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ob, err := outbox.Open(storePath(dir), outbox.Options{Device: "dev1", LockTimeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	msgs, _, err := ob.Next(outbox.Key{}, 1<<30, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[fmt.Sprintf("dev1:%s:%d", m.Stream, m.Seq)] = true
		if m.Stream != "drops" {
			continue
		}
		var rep struct{ Drops []ledger.Drop }
		if err := json.Unmarshal(m.Payload, &rep); err != nil {
			t.Fatalf("stored drop report %s: %v", m.Payload, err)
		}
		for _, d := range rep.Drops {
			for _, r := range d.Ranges {
				for v := r[0]; v <= r[1]; v++ {
					ids[fmt.Sprintf("dev1:%s:%d", d.Stream, v)] = true
				}
			}
		}
	}
	return ids
}

// watchProc is a `lineside watch --ledger` process following a broker.
type watchProc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWatch runs the ledger against broker and waits until it subscribed.
func startWatch(t *testing.T, broker string, args ...string) *watchProc {
	t.Helper()
	w := &watchProc{t: t, done: make(chan struct{})}
	args = append([]string{"watch", "--broker", broker, "--ledger", "--from-start", "--json", "--interval", "5s",
		"--client-id", fmt.Sprintf("ledger-%d", time.Now().UnixNano())}, args...)
	w.cmd = exec.Command(binary, args...)
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			t.Logf("watch stderr:\n%s", tail(w.stderr.String(), 3000))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(w.stderr.String(), "watch: subscribed") {
		if time.Now().After(deadline) {
			t.Fatalf("watch did not subscribe: %s", w.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w
}

// report lets messages in transit arrive for grace, stops the watch
// (SIGTERM) and returns its final ledger and exit code.
func (w *watchProc) report(grace time.Duration) (ledger.Report, int) {
	w.t.Helper()
	time.Sleep(grace)
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.t.Fatal("watch did not stop on SIGTERM")
	}
	var rep ledger.Report
	if err := json.Unmarshal([]byte(w.stdout.String()), &rep); err != nil {
		w.t.Fatalf("watch report: %v: %s", err, w.stdout.String())
	}
	return rep, w.cmd.ProcessState.ExitCode()
}

// missingIDs lists the ids the ledger misses, stream by stream.
func missingIDs(rep ledger.Report) []string {
	var ids []string
	for name, s := range rep.Streams {
		for _, r := range s.MissingIDs {
			for v := r[0]; v <= r[1]; v++ {
				ids = append(ids, fmt.Sprintf("%s:%d", name, v))
			}
		}
	}
	return ids
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
