package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
)

// TestSystemdNotify plays systemd's side of Type=notify: a datagram socket in
// NOTIFY_SOCKET and a watchdog interval in WATCHDOG_USEC. The daemon must send
// READY=1 after start, WATCHDOG=1 periodically and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	count := func(s string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, g := range got {
			if strings.Contains(g, s) {
				n++
			}
		}
		return n
	}
	waitFor := func(s string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if count(s) >= n {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("got %d %q notifications, want %d; all: %q", count(s), s, n, got)
	}

	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 5, 64, 48)
	cfg := testConfig{Dir: dir, Broker: broker.URL(), Video: video, Loop: true, FPS: 5}.write(t)
	d := startDaemon(t, cfg, "NOTIFY_SOCKET="+sock, fmt.Sprintf("WATCHDOG_USEC=%d", 200_000))
	waitFor("READY=1", 1)
	waitFor("WATCHDOG=1", 3) // every 100ms with a 200ms watchdog
	if count("STOPPING=1") != 0 {
		t.Fatal("STOPPING=1 before any signal")
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	waitFor("STOPPING=1", 1)
}
