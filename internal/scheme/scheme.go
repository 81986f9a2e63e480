// Package scheme is the registry behind camera and sensor sources: each
// implementation registers a factory under its URL scheme in init(), and a
// config's source URL selects it.
package scheme

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Registry maps URL schemes to factories of type F. Its zero value is not
// usable; make one with New. It is safe for concurrent use.
type Registry[F any] struct {
	kind   string // "camera", "sensors": names the registry in panics
	mu     sync.RWMutex
	byName map[string]F
	opaque map[string]bool
}

// New returns an empty registry; kind names it in programming-error panics.
func New[F any](kind string) *Registry[F] {
	return &Registry[F]{kind: kind, byName: map[string]F{}, opaque: map[string]bool{}}
}

// Register adds f under scheme. It panics when the scheme is registered
// twice, which is a programming error.
func (r *Registry[F]) Register(scheme string, f F) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[scheme]; dup {
		panic(r.kind + ": scheme registered twice: " + scheme)
	}
	r.byName[scheme] = f
}

// RegisterOpaque is Register for a scheme whose remainder after "scheme://"
// is not a URL (a GStreamer pipeline): Lookup hands it over verbatim in
// u.Opaque.
func (r *Registry[F]) RegisterOpaque(scheme string, f F) {
	r.Register(scheme, f)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opaque[scheme] = true
}

// Schemes lists the registered schemes in order.
func (r *Registry[F]) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.byName))
	for s := range r.byName {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Lookup parses source and returns its URL with the factory registered for
// its scheme; the error names the source and lists the known schemes.
func (r *Registry[F]) Lookup(source string) (*url.URL, F, error) {
	var zero F
	if s, rest, ok := strings.Cut(source, "://"); ok {
		r.mu.RLock()
		f, raw := r.byName[s], r.opaque[s]
		r.mu.RUnlock()
		if raw {
			return &url.URL{Scheme: s, Opaque: rest}, f, nil
		}
	}
	u, err := url.Parse(source)
	if err != nil {
		return nil, zero, fmt.Errorf("source %q: %w", source, err)
	}
	r.mu.RLock()
	f, ok := r.byName[u.Scheme]
	r.mu.RUnlock()
	if !ok {
		return nil, zero, fmt.Errorf("source %q: unknown scheme %q (known: %v)", source, u.Scheme, r.Schemes())
	}
	return u, f, nil
}
