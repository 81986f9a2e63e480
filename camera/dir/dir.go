// Package dir is the camera source for a folder that images are dropped
// into (a line-scan PC, a PLC exporting pictures, an operator's scanner):
//
//	dir:///var/spool/line3/images?pattern=*.jpg&poll=500ms&settle=1s
//
// Query parameters, all optional:
//
//	pattern=*.jpg   shell pattern for file names (default *; filepath.Match)
//	poll=500ms      how often the folder is listed (default 500ms)
//	settle=1s       a file modified within this long is taken only once its
//	                size and modification time are unchanged since the
//	                previous listing (default 1s), so that a file still being
//	                written is not read half-way
//
// Images are taken in file-name order, the images already in the folder
// first and new ones as they arrive, each once. Name order (rather than
// modification time) is deterministic, survives copies that keep or reset
// times, and lets one name remember the progress: the state file
// <state dir>/camera-<name>.dir-state holds the last name taken, so after a
// restart only later names are read. Writers must therefore name files so
// that they sort in arrival order (timestamps or zero-padded counters), and
// should write under a name starting with "." and rename when complete;
// names starting with "." are never read. A file that does not decode is
// skipped, counted, and listed with the reason in the state file; it is not
// retried. The name is recorded when the image is handed to the camera, so a
// crash can lose at most the image in flight, never repeat one.
//
// The folder is read at the camera's fps at most; an idle folder is healthy
// (the camera stays streaming).
package dir

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
)

// Defaults of the query parameters.
const (
	// DefaultPoll is poll.
	DefaultPoll = 500 * time.Millisecond
	// DefaultSettle is settle.
	DefaultSettle = time.Second
)

func init() {
	camera.Register("dir", New)
}

// Source reads the images of a folder in name order.
type Source struct {
	dir       string
	pattern   string
	poll      time.Duration
	settle    time.Duration
	statePath string

	open     bool
	state    State
	pending  []string             // ready names after state.Last, in order
	prev     map[string]fileStamp // size and mtime at the previous listing
	lastList time.Time
}

// fileStamp is what a listing saw of a file, to tell whether it still grows.
type fileStamp struct {
	size  int64
	mtime time.Time
}

var _ camera.Source = (*Source)(nil)

// New builds a folder source from its URL; it needs opts.StateDir and
// opts.Name for its state file.
func New(u *url.URL, opts camera.Options) (camera.Source, error) {
	path := u.Path
	if u.Host != "" { // dir://relative/path puts "relative" in Host
		path = u.Host + u.Path
	}
	if path == "" {
		return nil, fmt.Errorf("dir source %q: no folder", u.String())
	}
	if opts.StateDir == "" || opts.Name == "" {
		return nil, fmt.Errorf("dir source %q: needs the camera name and the agent's state directory", u.String())
	}
	s := &Source{
		dir: path, pattern: "*", poll: DefaultPoll, settle: DefaultSettle,
		statePath: filepath.Join(opts.StateDir, "camera-"+opts.Name+".dir-state"),
	}
	for k, v := range u.Query() {
		val := v[len(v)-1]
		switch k {
		case "pattern":
			if _, err := filepath.Match(val, ""); err != nil || val == "" || strings.Contains(val, "/") {
				return nil, fmt.Errorf("dir source %q: pattern=%q is not a file name pattern", u.String(), val)
			}
			s.pattern = val
		case "poll", "settle":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 || (k == "poll" && d < 10*time.Millisecond) {
				return nil, fmt.Errorf("dir source %q: %s=%q is not a duration (poll at least 10ms, settle at least 0)", u.String(), k, val)
			}
			if k == "poll" {
				s.poll = d
			} else {
				s.settle = d
			}
		default:
			return nil, fmt.Errorf("dir source %q: unknown parameter %q (known: pattern, poll, settle)", u.String(), k)
		}
	}
	return s, nil
}

// Paced reports that a backlog of images is read at the configured fps.
func (s *Source) Paced() bool { return true }

// StatePath returns the file that remembers the last image taken.
func (s *Source) StatePath() string { return s.statePath }

// Open checks the folder and loads the progress of a previous run.
func (s *Source) Open() error {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("image folder %s: %w", s.dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("image folder %s: not a directory", s.dir)
	}
	st, err := loadState(s.statePath)
	if err != nil {
		return err
	}
	s.state, s.pending, s.prev, s.lastList, s.open = st, nil, map[string]fileStamp{}, time.Time{}, true
	return nil
}

// Read decodes the next image into dst. With no image ready it waits for
// the next listing, at most poll, and returns camera.ErrNoFrame when there
// is still none. An image that does not decode is skipped with an error
// wrapping camera.ErrBadFrame.
func (s *Source) Read(dst *gocv.Mat) error {
	if !s.open {
		return camera.ErrNotConnected
	}
	if len(s.pending) == 0 {
		if wait := s.poll - time.Since(s.lastList); wait > 0 {
			time.Sleep(wait)
		}
		if err := s.list(); err != nil {
			return err
		}
		if len(s.pending) == 0 {
			return camera.ErrNoFrame
		}
	}
	name := s.pending[0]
	s.pending = s.pending[1:]
	img := gocv.IMRead(filepath.Join(s.dir, name), gocv.IMReadColor)
	defer img.Close()
	if img.Empty() {
		reason := "not a decodable image"
		if _, err := os.Stat(filepath.Join(s.dir, name)); err != nil {
			reason = err.Error()
		}
		if err := s.state.skip(s.statePath, name, reason); err != nil {
			return err
		}
		return fmt.Errorf("image %s: %s: %w", filepath.Join(s.dir, name), reason, camera.ErrBadFrame)
	}
	img.CopyTo(dst)
	return s.state.take(s.statePath, name)
}

// list reads the folder and queues, in name order, the files after the last
// one taken that are complete, stopping at the first that may still grow so
// that no earlier name is ever passed over.
func (s *Source) list() error {
	now := time.Now()
	s.lastList = now
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("image folder %s: %w", s.dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || n <= s.state.Last || !e.Type().IsRegular() {
			continue
		}
		if ok, _ := filepath.Match(s.pattern, n); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	seen := make(map[string]fileStamp, len(names))
	s.pending = s.pending[:0]
	blocked := false
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(s.dir, n))
		if err != nil {
			continue // removed since the listing
		}
		stamp := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
		seen[n] = stamp
		if blocked {
			continue
		}
		if now.Sub(stamp.mtime) >= s.settle || s.prev[n] == stamp {
			s.pending = append(s.pending, n)
		} else {
			blocked = true
		}
	}
	s.prev = seen
	return nil
}

// Close forgets the listing; the progress stays in the state file.
func (s *Source) Close() error {
	s.open, s.pending = false, nil
	return nil
}
