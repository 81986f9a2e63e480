// Package stream is the camera source for live network streams read by
// OpenCV's FFmpeg backend: RTSP cameras and HTTP(S) streams (MJPEG
// multipart, HLS, or anything else FFmpeg opens by URL).
//
//	rtsp://[user:password@]host[:port]/path[?query][#options]
//	rtsps://…, http://…, https://… (same form)
//
// The query belongs to the camera and reaches it unchanged (many cameras
// select their stream with it, e.g. ?action=stream). lineside's own options
// go in the URL fragment, which is never sent to the camera, written like a
// query; quote the URL in YAML:
//
//	open_timeout=10s     how long connecting may take (default 10s)
//	read_timeout=5s      how long one read may block before the stream is
//	                     declared lost (default: 1.5 × the camera's stall
//	                     timeout, so that the camera shows stalled first)
//	rtsp_transport=tcp   RTP over the RTSP connection (tcp, the default) or
//	                     over UDP (udp); rtsp:// and rtsps:// only
//
// Example: "rtsp://10.0.0.5:554/stream1#rtsp_transport=udp&read_timeout=3s".
//
// Streams are live: the camera reads them as fast as they come and does not
// pace them. Both timeouts are FFmpeg interrupt deadlines set through
// OpenCV's open-only CAP_PROP_OPEN_TIMEOUT_MSEC and
// CAP_PROP_READ_TIMEOUT_MSEC, so a dead stream never blocks a read for
// longer than read_timeout.
//
// OpenCV passes FFmpeg options only through the process-wide environment
// variable OPENCV_FFMPEG_CAPTURE_OPTIONS, read while a capture opens. A
// stream with rtsp_transport set takes an exclusive lock, sets the variable
// to "rtsp_transport;<value>", opens, and restores the variable; streams
// without it open concurrently under a shared lock and get OpenCV's own
// default (TCP, or whatever the operator put in the variable). So
// rtsp_transport never leaks into another camera, at the cost of
// serialising opens while such a stream connects (at most open_timeout).
package stream

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/camera/internal/capture"
)

// Defaults of the options.
const (
	// DefaultOpenTimeout is open_timeout.
	DefaultOpenTimeout = 10 * time.Second
	// DefaultReadTimeout is read_timeout when the camera has no stall
	// timeout.
	DefaultReadTimeout = 5 * time.Second
)

// optionsEnv is the variable OpenCV's FFmpeg backend reads its options from.
const optionsEnv = "OPENCV_FFMPEG_CAPTURE_OPTIONS"

// envMu guards optionsEnv across opens; see the package comment.
var envMu sync.RWMutex

func init() {
	for _, s := range []string{"rtsp", "rtsps", "http", "https"} {
		camera.Register(s, New)
	}
}

// Source reads a live network stream.
type Source struct {
	url         string // what FFmpeg opens: without the fragment
	display     string // for messages: password redacted
	addr        string // host:port checked before opening
	openTimeout time.Duration
	readTimeout time.Duration
	transport   string
	http        bool
	cap         *capture.Capture
	mjpeg       *mjpegReader
}

var _ camera.Source = (*Source)(nil)

// New builds a stream source from its URL; see the package comment.
func New(u *url.URL, opts camera.Options) (camera.Source, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("stream source %q: no host", u.Redacted())
	}
	fu := *u
	fu.Fragment, fu.RawFragment = "", ""
	s := &Source{
		url:         fu.String(),
		display:     fu.Redacted(),
		addr:        hostPort(u),
		openTimeout: DefaultOpenTimeout,
		readTimeout: DefaultReadTimeout,
		http:        strings.HasPrefix(u.Scheme, "http"),
	}
	if opts.StallTimeout > 0 {
		s.readTimeout = opts.StallTimeout * 3 / 2
	}
	if err := s.parseOptions(u); err != nil {
		return nil, fmt.Errorf("stream source %q: %w", s.display, err)
	}
	return s, nil
}

// parseOptions reads lineside's options from the URL fragment.
func (s *Source) parseOptions(u *url.URL) error {
	q, err := url.ParseQuery(u.EscapedFragment())
	if err != nil {
		return fmt.Errorf("options after #: %w", err)
	}
	rtsp := strings.HasPrefix(u.Scheme, "rtsp")
	known := "open_timeout, read_timeout"
	if rtsp {
		known += ", rtsp_transport"
	}
	for k, v := range q {
		val := v[len(v)-1]
		switch {
		case k == "open_timeout" || k == "read_timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s=%q is not a positive duration (e.g. 5s, 500ms)", k, val)
			}
			if k == "open_timeout" {
				s.openTimeout = d
			} else {
				s.readTimeout = d
			}
		case k == "rtsp_transport" && rtsp:
			if val != "tcp" && val != "udp" {
				return fmt.Errorf("rtsp_transport=%q is not tcp or udp", val)
			}
			s.transport = val
		default:
			return fmt.Errorf("unknown option %q after # (known: %s)", k, known)
		}
	}
	return nil
}

// hostPort is the TCP address of the stream's server.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := map[string]string{"rtsp": "554", "rtsps": "322", "http": "80", "https": "443"}[u.Scheme]
	return net.JoinHostPort(u.Hostname(), port)
}

// URL returns the stream's URL with the password redacted and without
// lineside's options.
func (s *Source) URL() string { return s.display }

// Timeouts returns the open and read timeouts in force.
func (s *Source) Timeouts() (open, read time.Duration) { return s.openTimeout, s.readTimeout }

// Open connects to the stream. An HTTP multipart (MJPEG) stream is read
// part by part (see mjpegReader); anything else goes to FFmpeg. A server that
// cannot be reached is reported as such before OpenCV is asked, since
// FFmpeg's own failure says nothing.
func (s *Source) Open() error {
	s.Close()
	if s.http {
		r, err := openMJPEG(s.url, s.display, s.openTimeout, s.readTimeout)
		if err != nil {
			return fmt.Errorf("stream %s: %w", s.display, err)
		}
		if r != nil {
			s.mjpeg = r
			return nil
		}
	} else {
		conn, err := net.DialTimeout("tcp", s.addr, s.openTimeout)
		if err != nil {
			return fmt.Errorf("stream %s: %w", s.display, err)
		}
		conn.Close()
	}
	c, err := s.open()
	if err != nil {
		return fmt.Errorf("stream %s: not opened within open_timeout=%s: no readable video at that URL "+
			"(wrong path, unsupported format, or no data): %w", s.display, s.openTimeout, err)
	}
	s.cap = c
	return nil
}

// open opens the capture with the timeouts, setting the FFmpeg options
// variable around it when rtsp_transport is set.
func (s *Source) open() (*capture.Capture, error) {
	params := []int{
		capture.PropOpenTimeoutMsec, capture.Millis(s.openTimeout),
		capture.PropReadTimeoutMsec, capture.Millis(s.readTimeout),
	}
	if s.transport == "" {
		envMu.RLock()
		defer envMu.RUnlock()
		return capture.Open(s.url, capture.FFmpeg, params...)
	}
	envMu.Lock()
	defer envMu.Unlock()
	old, had := os.LookupEnv(optionsEnv)
	os.Setenv(optionsEnv, "rtsp_transport;"+s.transport)
	defer func() {
		if had {
			os.Setenv(optionsEnv, old)
		} else {
			os.Unsetenv(optionsEnv)
		}
	}()
	return capture.Open(s.url, capture.FFmpeg, params...)
}

// Read decodes the next frame. The stream is live, so there is no end: a
// closed connection or a read that timed out is an error and the camera
// reconnects.
func (s *Source) Read(dst *gocv.Mat) error {
	if s.mjpeg != nil {
		return s.mjpeg.read(dst)
	}
	if s.cap == nil {
		return camera.ErrNotConnected
	}
	start := time.Now()
	ok, err := s.cap.Read(dst)
	if ok {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.display, err)
	}
	if took := time.Since(start); took >= s.readTimeout*9/10 {
		return fmt.Errorf("stream %s: no frame within read_timeout=%s", s.display, s.readTimeout)
	}
	return errors.New("stream " + s.display + ": stream ended or connection lost")
}

// Close releases the stream.
func (s *Source) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	if s.mjpeg != nil {
		s.mjpeg.close()
		s.mjpeg = nil
	}
	return nil
}
