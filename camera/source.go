// Package camera captures frames from cameras and video sources with gocv.
//
// A Source is one capture device or stream. Implementations live in
// sub-packages and register themselves by URL scheme in init(), so that a
// config entry such as `source: "file:///data/line3.mp4?loop=true"` selects
// the file implementation.
package camera

import (
	"errors"
	"net/url"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/internal/scheme"
)

// Sentinel errors returned by Source.Read.
var (
	// ErrEndOfStream means the source has no more frames (a file without loop).
	ErrEndOfStream = errors.New("end of stream")
	// ErrNotConnected means the source must be (re)opened before reading.
	ErrNotConnected = errors.New("not connected")
	// ErrNoFrame means the source is healthy but has nothing new yet (a
	// folder with no new image); the caller reads again without reopening.
	ErrNoFrame = errors.New("no new frame")
	// ErrBadFrame (wrapped) means one frame or image was unusable and was
	// skipped; the source stays open and the next Read moves on.
	ErrBadFrame = errors.New("bad frame")
)

// Source is one camera. Open is called before the first Read and again after
// a Read error other than ErrEndOfStream; Close is called once at the end.
// A Source is used by one goroutine at a time and need not be safe for
// concurrent use.
type Source interface {
	// Open connects to the device or stream.
	Open() error
	// Read decodes the next frame into dst, reusing its memory where the size
	// allows. It blocks until a frame is available.
	Read(dst *gocv.Mat) error
	// Close releases the device or stream.
	Close() error
}

// Options are the per-camera settings a Factory may use.
type Options struct {
	// Name is the camera's name from the config.
	Name string
	// FPS is the configured frame rate; sources that read faster than real time
	// (files) are paced to it by the caller.
	FPS float64
	// StallTimeout is the camera's stall timeout; live sources use it as the
	// default bound of one blocking read.
	StallTimeout time.Duration
	// StateDir is the agent's state directory, where sources that must
	// remember progress across restarts (folders) keep a small file.
	StateDir string
}

// Factory builds a Source from its URL.
type Factory func(u *url.URL, opts Options) (Source, error)

var registry = scheme.New[Factory]("camera")

// Register makes a source implementation available under a URL scheme. It
// panics when the scheme is registered twice, as that is a programming error.
func Register(scheme string, f Factory) { registry.Register(scheme, f) }

// RegisterOpaque is Register for a scheme whose remainder after "scheme://"
// is not a URL (a GStreamer pipeline): the factory gets it verbatim in
// u.Opaque, unparsed.
func RegisterOpaque(scheme string, f Factory) { registry.RegisterOpaque(scheme, f) }

// Schemes lists the registered URL schemes in order.
func Schemes() []string { return registry.Schemes() }

// NewSource parses a source URL and builds the registered implementation; it
// does not connect (Source.Open does).
func NewSource(source string, opts Options) (Source, error) {
	u, f, err := registry.Lookup(source)
	if err != nil {
		return nil, err
	}
	return f(u, opts)
}
