// Package capture opens OpenCV video captures with open-only parameters
// (CAP_PROP_OPEN_TIMEOUT_MSEC, CAP_PROP_READ_TIMEOUT_MSEC) and checks which
// capture backends the installed OpenCV has. gocv v0.31.0 exposes neither,
// so this package calls cv::VideoCapture directly and reads into gocv Mats.
//
// A Capture, like cv::VideoCapture, is not safe for concurrent use: Read and
// Close must not run at the same time.
package capture

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "capture.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"gocv.io/x/gocv"
)

// Capture backends (cv::VideoCaptureAPIs) used by lineside's sources.
const (
	// V4L2 is the Video4Linux2 backend (CAP_V4L2).
	V4L2 = 200
	// GStreamer is the GStreamer backend (CAP_GSTREAMER).
	GStreamer = 1800
	// FFmpeg is the FFmpeg backend (CAP_FFMPEG).
	FFmpeg = 1900
)

// Open-only parameters (cv::VideoCaptureProperties) of OpenCV 4.6 that gocv
// v0.31.0 has no constants for. Only the FFmpeg backend honours them.
const (
	// PropOpenTimeoutMsec bounds how long opening may take (CAP_PROP_OPEN_TIMEOUT_MSEC).
	PropOpenTimeoutMsec = 53
	// PropReadTimeoutMsec bounds how long one read may block (CAP_PROP_READ_TIMEOUT_MSEC).
	PropReadTimeoutMsec = 54
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("capture closed")

const errLen = 512

// Capture is one open cv::VideoCapture.
type Capture struct {
	p C.LsCapture
}

// Open opens name (a URL, device path or pipeline) with the given backend
// and open-only parameters, given as property/value pairs. The error says
// what OpenCV reported, if anything; most backends report nothing and just
// fail to open.
func Open(name string, api int, params ...int) (*Capture, error) {
	if len(params)%2 != 0 {
		return nil, fmt.Errorf("capture: odd number of open parameters (%d)", len(params))
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cparams *C.int
	if len(params) > 0 {
		buf := C.malloc(C.size_t(len(params)) * C.size_t(unsafe.Sizeof(C.int(0))))
		defer C.free(buf)
		arr := unsafe.Slice((*C.int)(buf), len(params))
		for i, p := range params {
			arr[i] = C.int(p)
		}
		cparams = (*C.int)(buf)
	}
	var cerr [errLen]C.char
	p := C.ls_capture_open(cname, C.int(api), cparams, C.int(len(params)), &cerr[0], errLen)
	if p == nil {
		if msg := C.GoString(&cerr[0]); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, errors.New("not opened")
	}
	return &Capture{p: p}, nil
}

// Read decodes the next frame into dst, reusing its memory where the size
// allows. It reports false when the backend gives no frame (end of stream,
// timeout, lost connection) and an error only for an OpenCV exception.
func (c *Capture) Read(dst *gocv.Mat) (bool, error) {
	if c.p == nil {
		return false, ErrClosed
	}
	var cerr [errLen]C.char
	ok := C.ls_capture_read(c.p, unsafe.Pointer(dst.Ptr()), &cerr[0], errLen) != 0
	if !ok {
		if msg := C.GoString(&cerr[0]); msg != "" {
			return false, errors.New(msg)
		}
	}
	return ok, nil
}

// Set sets a capture property and reports whether the backend accepted it.
func (c *Capture) Set(prop int, value float64) bool {
	if c.p == nil {
		return false
	}
	return C.ls_capture_set(c.p, C.int(prop), C.double(value)) != 0
}

// Get returns a capture property, 0 when the backend does not know it.
func (c *Capture) Get(prop int) float64 {
	if c.p == nil {
		return 0
	}
	return float64(C.ls_capture_get(c.p, C.int(prop)))
}

// Close releases the capture; further calls do nothing.
func (c *Capture) Close() {
	if c.p == nil {
		return
	}
	C.ls_capture_close(c.p)
	c.p = nil
}

// HasBackend reports whether the installed OpenCV was built with the backend
// (built in or as a loadable plugin).
func HasBackend(api int) bool { return C.ls_has_backend(C.int(api)) != 0 }

// BackendName returns OpenCV's name for a backend id, e.g. "GSTREAMER".
func BackendName(api int) string {
	var out [64]C.char
	if C.ls_backend_name(C.int(api), &out[0], 64) == 0 {
		return fmt.Sprintf("backend %d", api)
	}
	return C.GoString(&out[0])
}

// Millis converts a timeout to whole milliseconds for an open parameter,
// at least 1 so that a tiny timeout is not read as "none".
func Millis(d time.Duration) int {
	return max(1, int(d/time.Millisecond))
}
