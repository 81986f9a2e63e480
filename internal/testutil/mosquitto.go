package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Broker is a real mosquitto process listening on a loopback port, owned by
// one test. Stop and Start may be called repeatedly to simulate outages; the
// port stays the same so clients reconnect to the same URL.
type Broker struct {
	t    testing.TB
	Port int
	dir  string
	cmd  *exec.Cmd
	// Extra holds additional mosquitto.conf lines (TLS, ACL, ...).
	Extra []string
	// Persist keeps sessions and queued messages across Shutdown and Start
	// (mosquitto's persistence file in the test's directory). Stop, a kill,
	// still loses what was not saved, as a crash would.
	Persist bool
}

// URL returns the tcp:// address clients connect to.
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.Port) }

// Addr returns host:port of the broker.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.Port) }

// NewBroker prepares a broker on a free port without starting it.
func NewBroker(t testing.TB) *Broker {
	t.Helper()
	if _, err := exec.LookPath("mosquitto"); err != nil {
		if _, err2 := os.Stat("/usr/sbin/mosquitto"); err2 != nil {
			t.Fatalf("mosquitto not installed (run `make setup`): %v", err)
		}
	}
	b := &Broker{t: t, Port: FreePort(t), dir: t.TempDir()}
	t.Cleanup(b.Stop)
	return b
}

// StartBroker starts a mosquitto broker on a free loopback port and stops it
// when the test ends.
func StartBroker(t testing.TB) *Broker {
	b := NewBroker(t)
	b.Start()
	return b
}

func mosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return "/usr/sbin/mosquitto"
}

// Start launches mosquitto and waits until it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	if b.cmd != nil {
		return
	}
	conf := filepath.Join(b.dir, "mosquitto.conf")
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", b.Port),
		"allow_anonymous true",
		persistence(b.Persist, b.dir),
		"max_inflight_messages 0",
		"max_queued_messages 0",
		"log_dest stderr",
		"log_type error",
	}
	lines = append(lines, b.Extra...)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		b.t.Fatal(err)
	}
	cmd := exec.Command(mosquittoPath(), "-c", conf)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("mosquitto did not listen on %s", b.Addr())
}

func persistence(on bool, dir string) string {
	if !on {
		return "persistence false"
	}
	return "persistence true\npersistence_location " + dir + "/"
}

// Shutdown stops the broker gracefully (SIGTERM), so that with Persist it
// saves its sessions, and waits for it to exit.
func (b *Broker) Shutdown() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = b.cmd.Process.Wait()
	b.cmd = nil
}

// Stop kills the broker (as an outage would) and waits for it to exit.
func (b *Broker) Stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_, _ = b.cmd.Process.Wait()
	b.cmd = nil
}
