// Package v4l2 is the camera source for local Video4Linux2 devices (USB and
// CSI cameras, capture cards), opened by device path with OpenCV's V4L2
// backend:
//
//	v4l2:///dev/video0?width=1280&height=720&fps=30&fourcc=MJPG
//
// Query parameters, all optional (the device's current mode otherwise):
//
//	width, height   frame size in pixels (1–16384); the driver picks the
//	                nearest size it supports
//	fps             frame rate asked of the device (> 0)
//	fourcc          pixel format, four characters: MJPG, YUYV, H264, …
//
// A V4L2 camera is live: the camera reads frames as the device delivers
// them. OpenCV waits for each frame with select(2) and gives up after 10 s
// (OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT, in ms), so an unplugged or wedged
// device ends the read with an error and the camera reopens it.
//
// No V4L2 device exists where lineside's tests run, and none is faked: a
// fake would need the v4l2loopback kernel module. The tests cover parameter
// parsing and the errors for missing and non-device paths; capture itself
// is OpenCV's.
package v4l2

import (
	"fmt"
	"net/url"
	"os"
	"strconv"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/camera/internal/capture"
)

// cv::VideoCaptureProperties set on the device.
const (
	propWidth  = 3
	propHeight = 4
	propFPS    = 5
	propFourCC = 6
)

func init() {
	camera.Register("v4l2", New)
}

// Source reads a V4L2 device.
type Source struct {
	path          string
	width, height int
	fps           float64
	fourcc        string
	cap           *capture.Capture
}

var _ camera.Source = (*Source)(nil)

// New builds a device source from its URL.
func New(u *url.URL, _ camera.Options) (camera.Source, error) {
	if u.Host != "" || u.Path == "" {
		return nil, fmt.Errorf("v4l2 source %q: want v4l2:///dev/videoN", u.String())
	}
	s := &Source{path: u.Path}
	for k, v := range u.Query() {
		val := v[len(v)-1]
		switch k {
		case "width", "height":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 16384 {
				return nil, fmt.Errorf("v4l2 source %q: %s=%q is not a size in pixels (1–16384)", u.String(), k, val)
			}
			if k == "width" {
				s.width = n
			} else {
				s.height = n
			}
		case "fps":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || !(f > 0 && f <= 1000) {
				return nil, fmt.Errorf("v4l2 source %q: fps=%q is not a frame rate (above 0, at most 1000)", u.String(), val)
			}
			s.fps = f
		case "fourcc":
			if len(val) != 4 {
				return nil, fmt.Errorf("v4l2 source %q: fourcc=%q is not four characters (e.g. MJPG, YUYV)", u.String(), val)
			}
			s.fourcc = val
		default:
			return nil, fmt.Errorf("v4l2 source %q: unknown parameter %q (known: width, height, fps, fourcc)", u.String(), k)
		}
	}
	return s, nil
}

// Path returns the device path.
func (s *Source) Path() string { return s.path }

// Open opens the device and asks for the configured mode.
func (s *Source) Open() error {
	s.Close()
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("v4l2 device %s: %w", s.path, err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		return fmt.Errorf("v4l2 device %s: not a character device", s.path)
	}
	c, err := capture.Open(s.path, capture.V4L2)
	if err != nil {
		return fmt.Errorf("v4l2 device %s: cannot be opened for capture (busy, no permission, or not a capture node): %w", s.path, err)
	}
	if s.fourcc != "" {
		b := []byte(s.fourcc)
		c.Set(propFourCC, float64(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24))
	}
	if s.width > 0 {
		c.Set(propWidth, float64(s.width))
	}
	if s.height > 0 {
		c.Set(propHeight, float64(s.height))
	}
	if s.fps > 0 {
		c.Set(propFPS, s.fps)
	}
	s.cap = c
	return nil
}

// Read decodes the next frame from the device.
func (s *Source) Read(dst *gocv.Mat) error {
	if s.cap == nil {
		return camera.ErrNotConnected
	}
	ok, err := s.cap.Read(dst)
	if err != nil {
		return fmt.Errorf("v4l2 device %s: %w", s.path, err)
	}
	if !ok {
		return fmt.Errorf("v4l2 device %s: no frame (unplugged, or none within the select timeout)", s.path)
	}
	return nil
}

// Close releases the device.
func (s *Source) Close() error {
	if s.cap != nil {
		s.cap.Close()
		s.cap = nil
	}
	return nil
}
