package inference

import (
	"fmt"
	"math"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// Registry knows, per model name, the slots of the workers serving it and
// how their classifiers are loaded, so a new version of a model can be
// loaded, checked and handed to every worker while frames keep flowing. It
// is safe for concurrent use.
type Registry struct {
	mu     sync.Mutex
	models map[string]*registered
}

type registered struct {
	opts  ClassifierOptions
	slots []*Slot
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{models: map[string]*registered{}} }

// Register declares model name with the options every classifier of it is
// loaded with (the YAML overrides minus version) and the slots serving it;
// later calls add slots.
func (r *Registry) Register(name string, opts ClassifierOptions, slots ...*Slot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.models[name]
	if m == nil {
		m = &registered{opts: opts}
		r.models[name] = m
	}
	m.slots = append(m.slots, slots...)
}

// Slots returns the slots serving name.
func (r *Registry) Slots(name string) []*Slot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.models[name]; m != nil {
		return append([]*Slot(nil), m.slots...)
	}
	return nil
}

// Known reports whether name was registered.
func (r *Registry) Known(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.models[name] != nil
}

// Load loads the file at path as version of model name once per slot (at
// least once, so a model no camera uses is still checked) and runs a smoke
// inference on each: the model must fit its task and contract and give
// finite scores. It returns the classifiers, closing them all on error.
func (r *Registry) Load(name, path, version string) ([]*Classifier, error) {
	r.mu.Lock()
	m := r.models[name]
	r.mu.Unlock()
	if m == nil {
		return nil, fmt.Errorf("model %s is not configured", name)
	}
	opts := m.opts
	opts.Overrides = map[string]string{}
	for k, v := range m.opts.Overrides {
		opts.Overrides[k] = v
	}
	opts.Overrides["version"] = version
	var out []*Classifier
	for i := 0; i < max(1, len(m.slots)); i++ {
		c, err := LoadClassifier(path, opts)
		if err == nil {
			err = Smoke(c)
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// SwapResult describes one hot swap.
type SwapResult struct {
	// Handoffs are the hand-overs, one per slot.
	Handoffs []*Handoff
	// Served reports whether every slot ran a frame on the new model
	// within the wait.
	Served bool
	// SwapTime is the longest time from hand-over to the first frame
	// finished on the new model, over the slots that served one.
	SwapTime time.Duration
}

// Swap hands classifiers (from Load, one per slot) to the slots of name and
// waits up to wait for each worker's first frame on the new model; a worker
// without frames takes it at its next frame. Extra classifiers are closed.
func (r *Registry) Swap(name string, clfs []*Classifier, version string, wait time.Duration) (SwapResult, error) {
	slots := r.Slots(name)
	var res SwapResult
	for i, c := range clfs {
		if i >= len(slots) {
			c.Close()
			continue
		}
		h, err := slots[i].Offer(c, version)
		if err != nil {
			for _, rest := range clfs[i+1:] {
				rest.Close()
			}
			return res, err
		}
		res.Handoffs = append(res.Handoffs, h)
	}
	deadline := time.After(wait)
	res.Served = true
	for _, h := range res.Handoffs {
		select {
		case <-h.Served():
			res.SwapTime = max(res.SwapTime, h.SwapTime())
		case <-deadline:
			res.Served = false
		}
		if !res.Served {
			break
		}
	}
	return res, nil
}

// Smoke runs one inference on a mid-gray frame of the model's own input size
// and checks that the scores are finite.
func Smoke(c *Classifier) error {
	img := gocv.NewMatWithSize(int(c.height()), int(c.width()), gocv.MatTypeCV8UC3)
	defer img.Close()
	img.SetTo(gocv.NewScalar(128, 128, 128, 0))
	res, err := c.Classify(img)
	if err != nil {
		return fmt.Errorf("smoke inference: %w", err)
	}
	for i, s := range res.Scores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("smoke inference: score %d (%s) is %v", i, c.Labels()[i], s)
		}
	}
	return nil
}
