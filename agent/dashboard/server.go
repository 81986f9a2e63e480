// Package dashboard is the fleet dashboard behind `lineside dashboard`: it
// subscribes to every device's topics on a broker, keeps a bounded picture
// of each device in memory, and serves a single page that follows it live
// over Server-Sent Events. Everything that comes from MQTT reaches the page
// as JSON data that the page puts into text nodes, never as markup.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

//go:embed static
var static embed.FS

// flushEvery is how often changed devices are sent to the browsers.
const flushEvery = 250 * time.Millisecond

// Config configures a Server.
type Config struct {
	// Broker is the MQTT broker URL, e.g. tcp://127.0.0.1:1883.
	Broker string
	// Prefix is the topic prefix of the fleet. Default: lineside/v1.
	Prefix string
	// Username and Password authenticate to the broker, when it asks.
	Username, Password string
}

// Server is the dashboard: an MQTT subscriber and an HTTP server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	state *State

	mu      sync.Mutex
	clients map[chan []byte]struct{}
}

// New returns a dashboard for cfg.
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.Prefix == "" {
		cfg.Prefix = "lineside/v1"
	}
	return &Server{cfg: cfg, log: log.With("component", "dashboard"), state: NewState(),
		clients: map[chan []byte]struct{}{}}
}

// State returns the fleet picture, for tests and embedding.
func (s *Server) State() *State { return s.state }

// Run subscribes to the broker (reconnecting as needed) and serves the page
// on ln until ctx ends.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	opts := mqtt.NewClientOptions().AddBroker(s.cfg.Broker).
		SetClientID(fmt.Sprintf("lineside-dashboard-%d", time.Now().UnixNano())).
		SetUsername(s.cfg.Username).SetPassword(s.cfg.Password).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			s.log.Info("subscribed", "broker", s.cfg.Broker, "filter", s.cfg.Prefix+"/#")
			c.Subscribe(s.cfg.Prefix+"/#", 0, func(_ mqtt.Client, m mqtt.Message) {
				s.state.Handle(s.cfg.Prefix, m.Topic(), m.Payload())
			})
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.log.Warn("broker connection lost", "err", err)
		})
	client := mqtt.NewClient(opts)
	client.Connect()
	defer client.Disconnect(250)

	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go s.flush(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dashboard: serve: %w", err)
	}
	return nil
}

// Handler returns the dashboard's HTTP routes.
func (s *Server) Handler() http.Handler {
	sub, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /", secure(http.FileServerFS(sub)))
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.state.JSON(nil))
	})
	mux.HandleFunc("GET /api/events", s.serveEvents)
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.state.Snapshot(r.URL.Query().Get("device"), r.URL.Query().Get("id"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Cache-Control", "private, max-age=3600")
		w.Write(b)
	})
	return secure(mux)
}

// secure adds headers that keep the browser from running anything but the
// page's own script and from guessing content types.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// serveEvents streams device updates: first every device, then each device
// again when it changed, as "devices" events holding a JSON array.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan []byte, 16)
	s.mu.Lock()
	s.clients[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clients, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "retry: 2000\nevent: devices\ndata: %s\n\n", s.state.JSON(nil))
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			fmt.Fprintf(w, "event: devices\ndata: %s\n\n", b)
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		}
		fl.Flush()
	}
}

// flush sends changed devices to every browser; a browser that cannot keep
// up misses updates rather than holding the server back.
func (s *Server) flush(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		keys := s.state.TakeDirty()
		if keys == nil {
			continue
		}
		b := s.state.JSON(keys)
		s.mu.Lock()
		for ch := range s.clients {
			select {
			case ch <- b:
			default:
			}
		}
		s.mu.Unlock()
	}
}
