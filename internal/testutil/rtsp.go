package testutil

import (
	"bufio"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

//go:embed rtsp_server.py
var rtspServerPy []byte

// RTSPServer is a real RTSP server (GStreamer's gst-rtsp-server, run by the
// Debian python3 through python3-gi) serving a live test pattern as RTP/JPEG
// at rtsp://127.0.0.1:PORT/test. Stop and Start kill and relaunch it on the
// same port to simulate an outage.
type RTSPServer struct {
	t          testing.TB
	Port       int
	w, h, fps  int
	script     string
	cmd        *exec.Cmd
	stderrPath string
}

// StartRTSP starts an RTSP server with w×h frames at fps on a free port and
// stops it when the test ends.
func StartRTSP(t testing.TB, w, h, fps int) *RTSPServer {
	t.Helper()
	dir := t.TempDir()
	s := &RTSPServer{t: t, Port: FreePort(t), w: w, h: h, fps: fps,
		script: filepath.Join(dir, "rtsp_server.py"), stderrPath: filepath.Join(dir, "stderr")}
	if err := os.WriteFile(s.script, rtspServerPy, 0o644); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL returns the stream's address.
func (s *RTSPServer) URL() string { return fmt.Sprintf("rtsp://127.0.0.1:%d/test", s.Port) }

// Start launches the server and waits until it listens.
func (s *RTSPServer) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	stderr, err := os.Create(s.stderrPath)
	if err != nil {
		s.t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command("/usr/bin/python3", s.script, strconv.Itoa(s.Port),
		strconv.Itoa(s.w), strconv.Itoa(s.h), strconv.Itoa(s.fps))
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start rtsp server: %v", err)
	}
	s.cmd = cmd
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		if line != "ready" {
			msg, _ := os.ReadFile(s.stderrPath)
			s.Stop()
			s.t.Fatalf("rtsp server did not start (needs gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good; run `make setup`): %s %s", line, msg)
		}
	case <-time.After(20 * time.Second):
		s.Stop()
		s.t.Fatal("rtsp server did not start within 20s")
	}
}

// Stop kills the server, as a camera that loses power would.
func (s *RTSPServer) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
