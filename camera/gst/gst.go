// Package gst is the camera source for GStreamer pipelines run by OpenCV's
// GStreamer backend:
//
//	gst://videotestsrc is-live=true ! videoconvert ! appsink
//	gst://rtspsrc location=rtsp://10.0.0.5/s1 latency=100 tcp-timeout=5000000 ! rtph264depay ! avdec_h264 ! videoconvert ! appsink max-buffers=1 drop=true
//
// Everything after "gst://" is the pipeline, verbatim (it is not a URL and
// has no lineside parameters); its last element must be appsink, from which
// OpenCV pulls BGR frames. Pipelines are live: the camera reads them as fast
// as they produce, so a file or test source should be made live
// (is-live=true) or rate-limited in the pipeline. A pipeline that ends (EOS)
// or fails is restarted by the camera like a lost stream.
//
// OpenCV's GStreamer backend has no read timeout: a pipeline whose source
// goes silent blocks the read until GStreamer itself gives up. Use the
// source element's own timeouts (rtspsrc timeout/tcp-timeout, v4l2src
// do-timestamp) so that it does; meanwhile the camera's watchdog reports the
// camera stalled.
package gst

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/camera/internal/capture"
)

// ErrNoGStreamer means the installed OpenCV was built without GStreamer.
var ErrNoGStreamer = errors.New("the installed OpenCV has no GStreamer backend (Debian's libopencv-videoio406 has one)")

func init() {
	camera.RegisterOpaque("gst", New)
}

// Source runs a GStreamer pipeline ending in appsink.
type Source struct {
	pipeline string
	cap      *capture.Capture
}

var _ camera.Source = (*Source)(nil)

// New builds a pipeline source; u.Opaque holds the pipeline.
func New(u *url.URL, _ camera.Options) (camera.Source, error) {
	p := strings.TrimSpace(u.Opaque)
	if p == "" {
		return nil, errors.New("gst source: empty pipeline (want gst://<elements> ! appsink)")
	}
	elems := strings.Split(p, "!")
	last := strings.Fields(elems[len(elems)-1])
	if len(last) == 0 || last[0] != "appsink" {
		got := ""
		if len(last) > 0 {
			got = last[0]
		}
		return nil, fmt.Errorf("gst source %q: the pipeline must end in appsink, not %q", p, got)
	}
	return &Source{pipeline: p}, nil
}

// Pipeline returns the pipeline description.
func (s *Source) Pipeline() string { return s.pipeline }

// Open starts the pipeline.
func (s *Source) Open() error {
	s.Close()
	if !capture.HasBackend(capture.GStreamer) {
		return fmt.Errorf("gst source: %w", ErrNoGStreamer)
	}
	c, err := capture.Open(s.pipeline, capture.GStreamer)
	if err != nil {
		return fmt.Errorf("gst pipeline %q: did not start (unknown element, caps that do not link, "+
			"or a source that fails; gst-launch-1.0 with the same pipeline shows why): %w", s.pipeline, err)
	}
	s.cap = c
	return nil
}

// Read pulls the next frame from appsink.
func (s *Source) Read(dst *gocv.Mat) error {
	if s.cap == nil {
		return camera.ErrNotConnected
	}
	ok, err := s.cap.Read(dst)
	if err != nil {
		return fmt.Errorf("gst pipeline %q: %w", s.pipeline, err)
	}
	if !ok {
		return fmt.Errorf("gst pipeline %q: no frame (the pipeline ended or failed)", s.pipeline)
	}
	return nil
}

// Close stops the pipeline.
func (s *Source) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	return nil
}
