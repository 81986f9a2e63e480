package outbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lockChildEnv names the store a re-executed test binary tries to open.
const lockChildEnv = "LINESIDE_OUTBOX_LOCK_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockChildEnv); path != "" {
		_, err := Open(path, Options{Device: "child", LockTimeout: 200 * time.Millisecond}, nil)
		if errors.Is(err, ErrLocked) {
			os.Stdout.WriteString(err.Error())
			os.Exit(3)
		}
		os.Stdout.WriteString("unexpected: " + errString(err))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func errString(err error) string {
	if err == nil {
		return "opened"
	}
	return err.Error()
}

func TestLockedSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	o := openT(t, path, Options{})
	defer o.Close()
	start := time.Now()
	_, err := Open(path, Options{Device: "x", LockTimeout: 150 * time.Millisecond}, nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another lineside instance may be running") {
		t.Fatalf("error does not name the path and the likely cause: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("lock timeout took %v", d)
	}
}

func TestLockedOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	o := openT(t, path, Options{})
	defer o.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child: %v: %s", err, out)
	}
	if !strings.Contains(string(out), path) || !strings.Contains(string(out), "another lineside instance may be running") {
		t.Fatalf("child error: %s", out)
	}
}

func TestOpenRejectsBadDevice(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "ob.db"), Options{Device: "a:b"}, nil); err == nil {
		t.Fatal("device with ':' accepted")
	}
}
