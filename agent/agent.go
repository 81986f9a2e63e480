package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/cmalloc"
	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/topic"
	"github.com/lineside/lineside/sync/uplink"

	// Camera sources register themselves by URL scheme.
	_ "github.com/lineside/lineside/camera/dir"
	_ "github.com/lineside/lineside/camera/file"
	_ "github.com/lineside/lineside/camera/gst"
	_ "github.com/lineside/lineside/camera/stream"
	_ "github.com/lineside/lineside/camera/v4l2"
)

// Version is the agent's version, set at build time with
// -ldflags "-X github.com/lineside/lineside/agent.Version=...".
var Version = "dev"

// Start-up failures that the command line maps to distinct exit codes.
var (
	// ErrRuntime means the ONNX Runtime library could not be loaded.
	ErrRuntime = errors.New("onnx runtime unavailable")
	// ErrStoreLocked means another process holds the store file.
	ErrStoreLocked = outbox.ErrLocked
	// ErrModel means a configured model could not be loaded.
	ErrModel = errors.New("model unavailable")
)

// Agent is the lineside daemon: cameras feed inference workers whose results
// go through the outbox to the MQTT uplink.
type Agent struct {
	cfg     *Config
	log     *slog.Logger
	layout  topic.Layout
	started time.Time

	out     *outbox.Outbox
	up      *uplink.Uplink
	vision  []*visionWorker
	cameras []*camera.Camera
	models  map[string]string // name -> version
	// registry and updates take model updates over MQTT (updates*.go).
	registry *inference.Registry
	updates  *updater

	sensors    *sensorHub // nil without sensors; pipeMu guards it
	predictors []*inference.Predictor
	sensorRun  *sensorRun // the running hub's stop (reload_sensors.go)

	statusDirty chan struct{} // camera state changed: publish status again

	// Camera pipelines are replaced one by one by reloads (reload*.go):
	// pipeMu guards cameras, vision, units and cfg; reloadMu orders reloads.
	pipeMu     sync.RWMutex
	reloadMu   sync.Mutex
	units      map[string]*cameraUnit
	configPath string
	cmds       *dispatcher // {base}/cmd/+ (commands*.go)
	figures    *figures    // metrics sampled every interval (metrics_*.go)
}

// New returns an agent for a loaded, valid config.
func New(cfg *Config, log *slog.Logger) *Agent {
	return &Agent{cfg: cfg, log: log, layout: cfg.TopicLayout(), models: map[string]string{},
		statusDirty: make(chan struct{}, 1), figures: newFigures()}
}

// Run starts every component, reports READY to systemd, and blocks until ctx
// ends; then it stops the sources, lets the workers put what was already
// captured into the store, stops the uplink and closes the store. Start-up
// errors are returned at once and wrap ErrRuntime, ErrStoreLocked or
// ErrModel where they apply.
func (a *Agent) Run(ctx context.Context) error {
	a.started = time.Now().UTC()
	notify := notifier{log: a.log}
	if err := a.start(); err != nil {
		a.closeStart()
		return err
	}

	// Sinks first: the uplink runs until the sources have drained.
	upCtx, stopUp := context.WithCancel(context.Background())
	upDone := make(chan error, 1)
	go func() { upDone <- a.up.Run(upCtx) }()

	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	a.startCameras()
	a.startSensors()
	a.log.Info("lineside running", "version", Version, "device", a.layout.Base(), "cameras", len(a.cameras))
	notify.Ready()
	go notify.Watchdog(srcCtx, func() bool { return true })
	go a.republishStatus(srcCtx)
	go a.publishMetrics(srcCtx)
	go every(srcCtx, heapTrimInterval, cmalloc.Trim)
	go a.updates.run(srcCtx)
	go a.cmds.run(srcCtx)
	go a.serveHTTP(srcCtx)

	<-ctx.Done()
	notify.Stopping()
	a.log.Info("stopping")
	stopSources()
	a.stopCameras() // cameras closed their queues; workers appended what was queued
	a.stopSensors()
	a.closeSensors()
	stopUp()
	upErr := <-upDone
	if err := a.out.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	a.log.Info("stopped", "records_buffered", a.out.Depth())
	return upErr
}

// start loads the runtime, opens the store and builds cameras and workers.
func (a *Agent) start() error {
	cfg := a.cfg
	if err := inference.Init(inference.RuntimeConfig{
		Library:      cfg.Inference.Library,
		IntraThreads: cfg.Inference.IntraThreads,
		Providers:    cfg.Inference.Providers,
	}, a.log); err != nil {
		return fmt.Errorf("%w: %w", ErrRuntime, err)
	}
	if err := a.openStore(); err != nil {
		return err
	}
	if err := a.startUpdates(); err != nil {
		return err
	}
	for _, cc := range cfg.Cameras {
		if err := a.addCamera(cc); err != nil {
			return err
		}
	}
	if err := a.addSensors(); err != nil {
		return err
	}
	password, err := a.mqttPassword()
	if err != nil {
		return err
	}
	tlsCfg, err := a.uplinkTLS()
	if err != nil {
		return err
	}
	a.up = uplink.New(uplink.Config{
		Broker:         cfg.MQTT.Broker,
		ClientID:       cfg.MQTTClientID(),
		Username:       cfg.MQTT.Username,
		Password:       password,
		TLS:            tlsCfg,
		CleanSession:   cfg.MQTT.CleanSession,
		RateLimit:      cfg.MQTT.RateLimit,
		StatusTopic:    a.layout.Status(),
		Birth:          a.birth,
		Window:         cfg.MQTT.Inflight,
		ConnectTimeout: cfg.MQTT.ConnectTimeout.Std(),
		KeepAlive:      cfg.MQTT.Keepalive.Std(),
		OnConnect:      a.connected,
	}, a.out, a.log)
	a.cmds = newDispatcher(a.layout.Base(), func(t string, b []byte) error { return a.up.Publish(t, 1, false, b) }, a.log)
	a.registerCommands(a.cmds)
	return a.up.Subscribe(a.layout.Command("+"), 1, a.cmds.handle)
}

// addCamera builds one camera with its own classifier session and worker.
func (a *Agent) addCamera(cc CameraConfig) error {
	cam, w, err := a.buildCamera(cc)
	if err != nil {
		return err
	}
	a.cameras = append(a.cameras, cam)
	a.vision = append(a.vision, w)
	return a.registerSlot(cc.Model, w)
}

// buildCamera makes one camera and its worker, with its own classifier
// session, without starting them.
func (a *Agent) buildCamera(cc CameraConfig) (*camera.Camera, *visionWorker, error) {
	mc := a.cfg.Models[cc.Model]
	clf, err := a.loadServing(cc.Model, mc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: models.%s: %w", ErrModel, cc.Model, err)
	}
	md := clf.Metadata()
	a.pipeMu.Lock()
	a.models[cc.Model] = md.Version
	a.pipeMu.Unlock()
	src, err := camera.NewSource(cc.Source, camera.Options{
		Name: cc.Name, FPS: cc.FPS, StallTimeout: cc.StallTimeoutStd(),
		StateDir: filepath.Dir(a.cfg.Store.Path),
	})
	if err != nil {
		clf.Close()
		return nil, nil, fmt.Errorf("cameras.%s.source: %w", cc.Name, err)
	}
	log := a.log.With("component", "camera")
	cam := camera.New(camera.Config{
		Name: cc.Name, FPS: cc.FPS, StallTimeout: cc.StallTimeoutStd(),
		BackoffMin: cc.BackoffMin.Std(), BackoffMax: cc.BackoffMax.Std(),
		OnState: a.cameraStateChanged,
	}, src, log)
	w, err := newVisionWorker(visionConfig{
		camera:        cc.Name,
		model:         cc.Model,
		queue:         cc.Queue,
		gate:          cc.GateConfig(),
		snapshots:     cc.Snapshots,
		defectTopic:   a.layout.DefectEvents(),
		snapshotTopic: a.layout.Snapshot("{id}"),
		triggerMode:   cc.Trigger.Mode,
	}, cam, clf, a.out, log.With("camera", cc.Name))
	if err != nil {
		clf.Close()
		return nil, nil, err
	}
	return cam, w, nil
}

// closeStart releases what start acquired before it failed.
func (a *Agent) closeStart() {
	for _, w := range a.vision {
		w.close()
	}
	a.closeSensors()
	if a.out != nil {
		a.out.Close()
	}
}

// birth is the retained {base}/status payload published on every connect.
func (a *Agent) birth() []byte {
	cams := map[string]string{}
	for _, c := range a.cameraList() {
		st, _ := c.State()
		cams[c.Name()] = string(st)
	}
	b, _ := json.Marshal(map[string]any{
		"state":   "online",
		"version": Version,
		"started": a.started.Format(time.RFC3339),
		"models":  a.modelVersions(),
		"cameras": cams,
		"sensors": a.sensorHub().sourceStates(),
	})
	return b
}

// readSecret returns the first line of a secret file, or "" for no file.
func readSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("mqtt.password_file: %w", err)
	}
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b = b[:i]
			break
		}
	}
	return string(b), nil
}
