package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lineside/lineside/camera"
)

// storeErrorWindow is how long after a failed group commit the store counts
// as unhealthy.
const storeErrorWindow = time.Minute

// serveHTTP serves /metrics (Prometheus) and /healthz on http.listen until
// ctx ends. A listener that cannot be opened is logged and the agent runs
// on without it: buffering results matters more than being scraped.
func (a *Agent) serveHTTP(ctx context.Context) {
	addr := a.cfg.HTTP.Listen
	if addr == "" {
		return
	}
	log := a.log.With("component", "http")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("metrics and health endpoint not served", "listen", addr, "err", err)
		return
	}
	srv := &http.Server{Handler: a.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("serving /metrics and /healthz", "listen", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http server stopped", "err", err)
	}
}

// httpHandler routes the local endpoints.
func (a *Agent) httpHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		&agentCollector{a: a},
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("GET /healthz", a.serveHealthz)
	return mux
}

// healthReport is the /healthz body.
type healthReport struct {
	Healthy  bool              `json:"healthy"`
	Problems []string          `json:"problems"`
	Cameras  map[string]string `json:"cameras"`
	Store    string            `json:"store"`
	Uplink   string            `json:"uplink"`
}

// serveHealthz answers 200 when every camera streams (or is still starting)
// and the store commits, 503 otherwise, with the reasons. The broker
// connection is reported but not judged: buffering while offline is what
// the agent is for.
func (a *Agent) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	r := a.health()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !r.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(r)
}

// storeWatch remembers when the store last failed a commit.
type storeWatch struct {
	mu       sync.Mutex
	errs     uint64
	failedAt time.Time
}

// health judges the cameras and the store.
func (a *Agent) health() healthReport {
	r := healthReport{Healthy: true, Problems: []string{}, Cameras: map[string]string{}, Store: "ok", Uplink: "connected"}
	for _, c := range a.cameraList() {
		h := c.Health()
		r.Cameras[h.Name] = string(h.State)
		switch h.State {
		case camera.StateStreaming, camera.StateStarting:
		default:
			r.Healthy = false
			p := "camera " + h.Name + " is " + string(h.State)
			if h.Reason != "" {
				p += ": " + h.Reason
			}
			r.Problems = append(r.Problems, p)
		}
	}
	st := a.out.Stats()
	sw := &a.figures.store
	sw.mu.Lock()
	if st.CommitErrors > sw.errs {
		sw.errs, sw.failedAt = st.CommitErrors, time.Now()
	}
	failed := !sw.failedAt.IsZero() && time.Since(sw.failedAt) < storeErrorWindow
	sw.mu.Unlock()
	if failed {
		r.Healthy, r.Store = false, "failing"
		r.Problems = append(r.Problems, "store: a commit failed in the last minute")
	}
	if !a.up.Connected() {
		r.Uplink = "offline"
	}
	return r
}
