package synthetic

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lineside/lineside/camera"
	"gocv.io/x/gocv"
)

// Scheme is the URL scheme of the synthetic camera.
const Scheme = "synthetic"

// Scene is the only scene the simulator renders, the URL's host.
const Scene = "conveyor"

// DefaultFPS is the frame rate hint when neither the URL nor the camera
// options give one.
const DefaultFPS = 10

func init() {
	camera.Register(Scheme, func(u *url.URL, opts camera.Options) (camera.Source, error) {
		return New(u, opts)
	})
}

var _ camera.Source = (*Source)(nil)

// Source is a simulated inspection camera over a conveyor:
//
//	synthetic://conveyor?seed=1&fps=10&defect_rate=0.1&width=320&height=240
//
// Every Read renders the next frame (frame 0, 1, 2, … of the seed, from
// start) as fast as it can; the source does not sleep. Pacing to the frame
// rate is the caller's job, as for files; the fps parameter is only a hint,
// reported by FPS. Reopening after Close continues with the next frame, as
// the belt keeps moving.
//
// Parameters, all optional: seed (unsigned integer, default 1), fps (> 0,
// default the camera's configured rate or 10), defect_rate (0–1, default
// 0.1), width and height (64–4096, default 320×240), parts (mixed, washer or
// plate), start (first frame index, default 0), and the shift parameters
// lighting (default 1), noise (default 1) and blur (default 0) described on
// Params.
type Source struct {
	params Params
	seed   uint64
	fps    float64
	next   uint64
	r      *Renderer

	mu   sync.Mutex
	last Truth
}

// knownParams lists the URL query parameters New accepts.
var knownParams = []string{"blur", "defect_rate", "fps", "height", "lighting", "noise", "parts", "seed", "start", "width"}

// New builds a Source from its URL; opts.FPS is the frame rate hint unless
// the URL sets fps.
func New(u *url.URL, opts camera.Options) (*Source, error) {
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("synthetic: scheme %q, want %q", u.Scheme, Scheme)
	}
	if u.Host != Scene || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("synthetic: unknown scene %q (known: %s)", u.Host+u.Path, Scene)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("synthetic: query: %w", err)
	}
	s := &Source{params: DefaultParams(), seed: 1, fps: DefaultFPS}
	if opts.FPS > 0 {
		s.fps = opts.FPS
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(q[k]) != 1 {
			return nil, fmt.Errorf("synthetic: parameter %s given %d times", k, len(q[k]))
		}
		if err := s.set(k, q[k][0]); err != nil {
			return nil, fmt.Errorf("synthetic: %w", err)
		}
	}
	if err := s.params.Validate(); err != nil {
		return nil, fmt.Errorf("synthetic: %w", err)
	}
	return s, nil
}

// set applies one query parameter.
func (s *Source) set(key, val string) error {
	p := &s.params
	var err error
	switch key {
	case "seed":
		s.seed, err = parseUint(key, val)
	case "start":
		s.next, err = parseUint(key, val)
	case "width":
		p.Width, err = parseInt(key, val)
	case "height":
		p.Height, err = parseInt(key, val)
	case "parts":
		p.Parts = val
	case "fps":
		s.fps, err = parseFloat(key, val)
		if err == nil && !(s.fps > 0 && s.fps <= 1000) {
			err = fmt.Errorf("fps %q: must be above 0 and at most 1000", val)
		}
	case "defect_rate":
		p.DefectRate, err = parseFloat(key, val)
	case "lighting":
		p.Lighting, err = parseFloat(key, val)
	case "noise":
		p.Noise, err = parseFloat(key, val)
	case "blur":
		p.Blur, err = parseFloat(key, val)
	default:
		return fmt.Errorf("unknown parameter %q (known: %s)", key, strings.Join(knownParams, ", "))
	}
	return err
}

func parseUint(key, val string) (uint64, error) {
	v, err := strconv.ParseUint(val, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: must be an unsigned integer", key, val)
	}
	return v, nil
}

func parseInt(key, val string) (int, error) {
	v, err := strconv.Atoi(val)
	if err != nil {
		return 0, fmt.Errorf("%s %q: must be an integer", key, val)
	}
	return v, nil
}

func parseFloat(key, val string) (float64, error) {
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: must be a number", key, val)
	}
	return v, nil
}

// Open prepares the renderer; it cannot fail for a Source built by New.
func (s *Source) Open() error {
	if s.r != nil {
		return nil
	}
	r, err := NewRenderer(s.params)
	if err != nil {
		return fmt.Errorf("synthetic: %w", err)
	}
	s.r = r
	return nil
}

// Read renders the next frame into dst, a BGR image of the configured size.
// It returns camera.ErrNotConnected before Open and after Close.
func (s *Source) Read(dst *gocv.Mat) error {
	if s.r == nil {
		return camera.ErrNotConnected
	}
	t := s.r.Render(dst, s.seed, s.next)
	s.next++
	s.mu.Lock()
	s.last = t
	s.mu.Unlock()
	return nil
}

// Close releases the renderer.
func (s *Source) Close() error {
	if s.r == nil {
		return nil
	}
	err := s.r.Close()
	s.r = nil
	return err
}

// Paced reports that the source renders faster than real time, so the
// camera paces its reads to the configured frame rate as it does for files.
func (s *Source) Paced() bool { return true }

// LastTruth returns the ground truth of the frame the last Read rendered,
// for tests and demo evaluation; it is safe to call from any goroutine.
func (s *Source) LastTruth() Truth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// FPS returns the frame rate hint: the URL's fps, else the camera's.
func (s *Source) FPS() float64 { return s.fps }

// Seed returns the seed frames are rendered from.
func (s *Source) Seed() uint64 { return s.seed }

// Params returns the rendering parameters parsed from the URL.
func (s *Source) Params() Params { return s.params }
