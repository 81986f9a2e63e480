// Package file is the camera source for video files: file:///path/to/video.mp4
// (absolute) or file://relative/path.avi, decoded with OpenCV's FFmpeg backend.
//
// Query parameters:
//
//	loop=true   start again from the first frame at the end of the file
//	            (default false: the camera ends after the last frame)
package file

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
)

func init() {
	camera.Register("file", New)
}

// Source reads frames from a video file.
type Source struct {
	path string
	loop bool
	vc   *gocv.VideoCapture
}

var _ camera.Source = (*Source)(nil)

// New builds a file source from its URL.
func New(u *url.URL, _ camera.Options) (camera.Source, error) {
	path := u.Path
	if u.Host != "" { // file://relative/path puts "relative" in Host
		path = u.Host + u.Path
	}
	if path == "" {
		return nil, fmt.Errorf("file source %q: no path", u.String())
	}
	s := &Source{path: path}
	for k, v := range u.Query() {
		switch k {
		case "loop":
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return nil, fmt.Errorf("file source %q: loop=%q is not true or false", u.String(), v[0])
			}
			s.loop = b
		default:
			return nil, fmt.Errorf("file source %q: unknown parameter %q (known: loop)", u.String(), k)
		}
	}
	return s, nil
}

// Path returns the file the source reads.
func (s *Source) Path() string { return s.path }

// Paced reports that a file is read faster than real time and must be paced
// to the configured fps by the caller.
func (s *Source) Paced() bool { return true }

// Open opens the video file.
func (s *Source) Open() error {
	if _, err := os.Stat(s.path); err != nil {
		return fmt.Errorf("video file %s: %w", s.path, err)
	}
	vc, err := gocv.VideoCaptureFile(s.path)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return fmt.Errorf("video file %s: cannot be decoded (not a video, or a codec OpenCV lacks)", s.path)
	}
	s.vc = vc
	return nil
}

// Read decodes the next frame, rewinding at the end when loop is set.
func (s *Source) Read(dst *gocv.Mat) error {
	if s.vc == nil {
		return camera.ErrNotConnected
	}
	if s.vc.Read(dst) && !dst.Empty() {
		return nil
	}
	if !s.loop {
		return camera.ErrEndOfStream
	}
	s.vc.Set(gocv.VideoCapturePosFrames, 0)
	if s.vc.Read(dst) && !dst.Empty() {
		return nil
	}
	return errors.New("video file " + s.path + ": no decodable frame after rewind")
}

// Close releases the decoder.
func (s *Source) Close() error {
	if s.vc == nil {
		return nil
	}
	err := s.vc.Close()
	s.vc = nil
	return err
}
