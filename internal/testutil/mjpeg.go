package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// MJPEGServer is a real HTTP MJPEG camera on a loopback port: it serves
// multipart/x-mixed-replace JPEGs encoded by OpenCV at /stream.mjpg. Tests
// stop and restart it on the same port to simulate an outage, change the
// frame size mid-stream, make it close each connection after a few frames,
// or make it send garbage instead of JPEGs.
type MJPEGServer struct {
	t    testing.TB
	Port int
	// FPS is the frame rate of each connection.
	FPS float64

	mu       sync.Mutex
	srv      *http.Server
	w, h     int
	perConn  int  // close each connection after this many frames; 0: never
	garbage  bool // send random bytes instead of a multipart stream
	paused   atomic.Bool
	frames   map[[2]int][][]byte
	served   atomic.Uint64
	conns    atomic.Uint64
	stopWait sync.WaitGroup
}

// StartMJPEG starts an MJPEG server with w×h frames at fps on a free port
// and stops it when the test ends.
func StartMJPEG(t testing.TB, w, h int, fps float64) *MJPEGServer {
	t.Helper()
	s := &MJPEGServer{t: t, Port: FreePort(t), FPS: fps, w: w, h: h, frames: map[[2]int][][]byte{}}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL returns the stream's address.
func (s *MJPEGServer) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/stream.mjpg", s.Port) }

// Start listens again on the server's port; it does nothing when running.
func (s *MJPEGServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port may linger briefly after Stop
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mjpeg server: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream.mjpg", s.serve)
	s.srv = &http.Server{Handler: mux}
	srv := s.srv
	s.stopWait.Add(1)
	go func() { defer s.stopWait.Done(); srv.Serve(ln) }()
}

// Stop closes the listener and every open connection, as a camera that loses
// power would.
func (s *MJPEGServer) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
		s.stopWait.Wait()
	}
}

// SetSize changes the size of the frames sent from now on.
func (s *MJPEGServer) SetSize(w, h int) {
	s.mu.Lock()
	s.w, s.h = w, h
	s.mu.Unlock()
}

// SetFramesPerConn makes the server close each connection after n frames; 0
// keeps connections open.
func (s *MJPEGServer) SetFramesPerConn(n int) {
	s.mu.Lock()
	s.perConn = n
	s.mu.Unlock()
}

// SetGarbage makes the server answer with random bytes instead of JPEGs.
func (s *MJPEGServer) SetGarbage(on bool) {
	s.mu.Lock()
	s.garbage = on
	s.mu.Unlock()
}

// SetPaused holds every connection open without sending frames while on, as
// a camera whose encoder hangs would.
func (s *MJPEGServer) SetPaused(on bool) { s.paused.Store(on) }

// Served counts the frames sent over all connections.
func (s *MJPEGServer) Served() uint64 { return s.served.Load() }

// Conns counts the connections accepted.
func (s *MJPEGServer) Conns() uint64 { return s.conns.Load() }

const mjpegBoundary = "linesideframe"

func (s *MJPEGServer) serve(w http.ResponseWriter, r *http.Request) {
	s.conns.Add(1)
	s.mu.Lock()
	garbage, perConn := s.garbage, s.perConn
	s.mu.Unlock()
	fl, _ := w.(http.Flusher)
	if garbage {
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := make([]byte, 4096)
		for i := 0; i < 256 && r.Context().Err() == nil; i++ {
			for j := range buf {
				buf[j] = byte(rand.UintN(256))
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
		return
	}
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	w.Header().Set("Cache-Control", "no-cache")
	period := time.Duration(float64(time.Second) / s.FPS)
	for i := 0; perConn == 0 || i < perConn; i++ {
		for s.paused.Load() && r.Context().Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		jpg := s.frame(i)
		var hdr bytes.Buffer
		fmt.Fprintf(&hdr, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", mjpegBoundary, len(jpg))
		if _, err := w.Write(hdr.Bytes()); err != nil {
			return
		}
		if _, err := w.Write(append(jpg, '\r', '\n')); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		s.served.Add(1)
		select {
		case <-r.Context().Done():
			return
		case <-time.After(period):
		}
	}
}

// frame returns the i-th JPEG of the current size; ten distinct frames per
// size are encoded once and reused.
func (s *MJPEGServer) frame(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]int{s.w, s.h}
	set, ok := s.frames[key]
	if !ok {
		set = encodeFrames(s.t, s.w, s.h, 10)
		s.frames[key] = set
	}
	return set[i%len(set)]
}

// EncodeJPEG encodes a w×h test image (frame i of a moving disc) with OpenCV.
func EncodeJPEG(t testing.TB, w, h, i int) []byte {
	t.Helper()
	img := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer img.Close()
	img.SetTo(gocv.NewScalar(40, 40, 40, 0))
	gocv.Circle(&img, image.Pt((i*17)%w, h/2), max(2, h/6), color.RGBA{220, 220, 220, 0}, -1)
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, img)
	if err != nil {
		t.Errorf("encode jpeg: %v", err)
		return nil
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

func encodeFrames(t testing.TB, w, h, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = EncodeJPEG(t, w, h, i)
	}
	return out
}

// ErrTimeout is returned by WaitFor when the condition did not hold in time.
var ErrTimeout = errors.New("timed out")

// WaitFor polls cond every 10ms until it holds or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		time.Sleep(10 * time.Millisecond)
	}
}
