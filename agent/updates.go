package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sync/topic"
	"github.com/lineside/lineside/sync/update"
)

// updatesTick is how often the updater checks transfer timeouts and the
// probation of a new version.
const updatesTick = 200 * time.Millisecond

// updater takes model updates from the broker (DESIGN.md, "Model update
// protocol"): it checks each retained manifest (signature, target, model,
// size, version), fetches the chunks it lacks into the store, verifies and
// validates the file, hands a fresh classifier per worker to the registry's
// slots, records the serving and previous version on disk, watches the new
// version through its probation and rolls it back when it misbehaves. Every
// step is reported on {base}/models/state.
//
// MQTT handlers only queue events; one goroutine (run) does all the work, so
// transfers, the store and the model state need no locks except for what
// status and the state publisher read.
type updater struct {
	cfg    UpdatesConfig
	keys   update.Keyring
	store  *update.Store
	reg    *inference.Registry
	layout topic.Layout
	log    *slog.Logger

	// configured maps each model name to its configured file and the
	// version that file declares: the fallback below every update.
	configured map[string]modelSource

	events chan func()

	mu        sync.Mutex // guards client and states
	client    mqtt.Client
	states    map[string]*modelState
	transfers map[string]*transfer  // run goroutine only
	probation map[string]*probation // run goroutine only

	preds map[string]*predictorTarget // failure-prediction models; guarded by mu
}

// modelSource is a model file and the version it serves as.
type modelSource struct {
	path, version string
}

// newUpdater builds the updater; with no trusted keys it still reports the
// serving versions and answers rollback, but accepts no manifest.
func newUpdater(cfg UpdatesConfig, dir string, layout topic.Layout, reg *inference.Registry, log *slog.Logger) (*updater, error) {
	keys, err := update.LoadKeyring(cfg.TrustedKeys)
	if err != nil {
		return nil, fmt.Errorf("updates.trusted_keys: %w", err)
	}
	store, err := update.OpenStore(dir)
	if err != nil {
		return nil, fmt.Errorf("updates.dir: %w", err)
	}
	return &updater{
		cfg: cfg, keys: keys, store: store, reg: reg, layout: layout,
		log:        log.With("component", "updates"),
		configured: map[string]modelSource{},
		events:     make(chan func(), 1024),
		states:     map[string]*modelState{},
		transfers:  map[string]*transfer{},
		probation:  map[string]*probation{},
		preds:      map[string]*predictorTarget{},
	}, nil
}

// source returns the file and version a configured model starts on: the
// recorded serving version when its file is on disk, else the configured
// file. configuredVersion is the version the configured file declares.
func (u *updater) source(name, configuredPath string) modelSource {
	p, err := u.store.Pointers(name)
	if err != nil {
		u.log.Warn("model pointers unreadable; serving the configured file", "model", name, "err", err)
		return modelSource{path: configuredPath}
	}
	if p.Current != "" && u.store.HasModel(name, p.Current) {
		return modelSource{path: u.store.ModelPath(name, p.Current), version: p.Current}
	}
	if p.Current != "" {
		u.log.Warn("recorded serving version missing on disk; serving the configured file", "model", name, "version", p.Current)
	}
	return modelSource{path: configuredPath}
}

// started records what a model serves after start-up.
func (u *updater) started(name, configuredPath, configuredVersion, serving string) {
	u.configured[name] = modelSource{path: configuredPath, version: configuredVersion}
	p, _ := u.store.Pointers(name)
	u.setState(name, func(s *modelState) {
		s.Serving, s.Previous, s.State = serving, p.Previous, stateServing
		if s.Previous == "" && serving != configuredVersion {
			s.Previous = configuredVersion
		}
	})
}

// run does the updater's work until ctx ends.
func (u *updater) run(ctx context.Context) {
	tick := time.NewTicker(updatesTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-u.events:
			ev()
		case <-tick.C:
			u.checkTimeouts()
			u.checkProbation()
		}
	}
}

// enqueue hands work to the run goroutine. It runs in MQTT handlers, which
// it never blocks for long: the queue has room for every chunk of a model.
func (u *updater) enqueue(ev func()) {
	select {
	case u.events <- ev:
	case <-time.After(5 * time.Second):
		u.log.Error("update queue full; message dropped (it is retained and comes again on reconnect)")
	}
}

// onConnect subscribes to the manifests on every new connection, renews the
// chunk subscriptions of transfers in progress and republishes the model
// state. The rollback command comes through the agent's command dispatcher.
func (u *updater) onConnect(c mqtt.Client) {
	u.mu.Lock()
	u.client = c
	u.mu.Unlock()
	subscribe := func(filter string, h mqtt.MessageHandler) {
		tok := c.Subscribe(filter, 1, h)
		go func() {
			if !tok.WaitTimeout(subscribeTimeout) || tok.Error() != nil {
				u.log.Error("subscription failed", "topic", filter, "err", tok.Error())
			}
		}()
	}
	if len(u.keys) > 0 {
		subscribe(update.ManifestFilter(u.prefix()), func(_ mqtt.Client, m mqtt.Message) {
			t, p := m.Topic(), append([]byte(nil), m.Payload()...)
			u.enqueue(func() { u.handleManifest(t, p) })
		})
	}
	u.enqueue(func() {
		for _, tr := range u.transfers {
			u.subscribeChunks(tr)
		}
		u.publishState()
	})
}

// prefix is {prefix}, the root of the model topics.
func (u *updater) prefix() string {
	if u.layout.Prefix == "" {
		return topic.DefaultPrefix
	}
	return u.layout.Prefix
}

// currentClient returns the client of the live connection, nil before the
// first.
func (u *updater) currentClient() mqtt.Client {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.client
}
