package agent

import (
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
)

// visionConfig is what one camera's inference worker needs besides its
// classifier and the store.
type visionConfig struct {
	camera, model string
	queue         int // frames waiting for inference; default 2
	gate          camera.GateConfig
	snapshots     SnapshotConfig
	defectTopic   string // {base}/events/defect
	snapshotTopic string // {base}/snapshots/{id}
	slots         int    // appender jobs; default defaultAppendSlots
	triggerMode   string // cameras[].trigger.mode
}

// visionWorker is the one inference worker of a camera. It owns the camera's
// classifier session (ONNX Runtime sessions are not shared, so one worker per
// session), and runs, per frame: gate, classify, snapshot encode, hand-over
// to the appender. Decoding happens before, in the camera's goroutine, and
// the durable append after, in the appender's, so the three overlap on
// different cores. The bounded queue from the camera drops the oldest frame
// when the worker falls behind, and the worker waits for the appender when
// the store falls behind, so memory stays bounded and every frame is either
// inferred, skipped by the gate, or dropped by the queue, each counted.
type visionWorker struct {
	cam   *camera.Camera
	queue *camera.Queue
	gate  *camera.Gate
	slot  *inference.Slot // the classifier, swapped between frames on a model update
	enc   *defectEncoder  // per model version; handed to the appender with each job
	snaps snapshotPolicy
	jpeg  *snapshotEncoder // nil when snapshots are off
	app   *appender
	log   *slog.Logger
	name  string
	model string // name of the model in the config
	// triggerMode is none, mqtt or sensor: which triggers open the gate.
	triggerMode string

	inferred  atomic.Uint64
	failed    atomic.Uint64
	latencyNs atomic.Int64 // last inference latency
	latencies latencyRing  // recent inference latencies, for p50/p99
	grabReq   atomic.Pointer[grabRequest]
	snapCfg   SnapshotConfig // quality and width of grabbed frames
}

// newVisionWorker builds the worker of one camera. The worker does not own
// cam or out; it owns everything else, clf included, and frees it in close.
func newVisionWorker(cfg visionConfig, cam *camera.Camera, clf *inference.Classifier, out recordAppender, log *slog.Logger) (*visionWorker, error) {
	gate, err := camera.NewGate(cfg.gate)
	if err != nil {
		return nil, fmt.Errorf("cameras.%s: %w", cfg.camera, err)
	}
	md := clf.Metadata()
	if cfg.queue < 1 {
		cfg.queue = DefaultCameraQueue
	}
	enc := newDefectEncoder(cfg.camera, cfg.model, md.Version, clf.Labels())
	app := newAppender(out, enc, cfg.slots, len(clf.Labels()), log)
	app.stream, app.topic = "defect."+cfg.camera, cfg.defectTopic
	app.snapStream, app.snapTopic = "snapshot."+cfg.camera, cfg.snapshotTopic
	w := &visionWorker{
		cam:   cam,
		queue: camera.NewQueue(cfg.queue),
		gate:  gate,
		slot:  inference.NewSlot(clf, md.Version),
		enc:   enc,
		snaps: snapshotPolicy{mode: cfg.snapshots.Mode, everyN: cfg.snapshots.EveryN, okIndex: slices.Index(clf.Labels(), clf.OKLabel())},
		app:   app,
		log:   log,
		name:  cfg.camera,
		model: cfg.model,

		triggerMode: cfg.triggerMode,
		snapCfg:     cfg.snapshots,
	}
	if cfg.snapshots.Mode != "" && cfg.snapshots.Mode != SnapshotNever {
		w.jpeg = newSnapshotEncoder(cfg.snapshots.Quality, cfg.snapshots.MaxWidth)
	}
	return w, nil
}

// run consumes frames until the queue is closed and empty, then lets the
// appender store every result already handed over before it returns; the
// agent closes the outbox only after every worker returned.
func (w *visionWorker) run() error {
	go w.app.run()
	defer w.app.stop()
	var lastErr string
	for f := range w.queue.Frames() {
		w.serveGrab(f)
		err := w.process(f)
		w.queue.Release(f)
		if err != nil {
			w.failed.Add(1)
			if err.Error() != lastErr { // once per kind of failure, not per frame
				w.log.Error("frame not processed", "err", err)
				lastErr = err.Error()
			}
			continue
		}
		lastErr = ""
	}
	return nil
}

// process gates, classifies and hands one frame over. A frame the gate
// keeps back is not an error; it is counted by the gate.
func (w *visionWorker) process(f *camera.Frame) error {
	if !w.gate.Admit(f) {
		return nil
	}
	h := w.slot.Take()
	if h != nil {
		w.adopt()
	}
	start := time.Now()
	res, err := w.slot.Classifier().Classify(f.Mat)
	latency := time.Since(start)
	if err == nil && !finite(res.Scores) {
		err = errBadScores
	}
	w.slot.Observe(h, latency, err) // a new version's errors and latency decide its rollback
	if err != nil {
		return err
	}
	w.latencyNs.Store(int64(latency))
	w.latencies.observe(latency)
	j := w.app.acquire()
	j.fill(f.Time, res, latency)
	j.enc = w.enc
	if w.jpeg != nil && w.snaps.want(res.Index) {
		if j.jpeg, err = w.jpeg.encode(f.Mat, j.jpeg); err != nil {
			// The event still goes out, without evidence.
			w.log.Debug("snapshot not encoded", "err", err)
		} else {
			j.snapshot = true
		}
	}
	w.app.submit(j)
	w.inferred.Add(1)
	return nil
}

// trigger opens the camera's gate for the trigger window.
func (w *visionWorker) trigger() { w.gate.Trigger() }

// close frees the queue's frames, the gate, the snapshot encoder and the
// classifier. Call it after the camera and run have returned.
func (w *visionWorker) close() {
	w.queue.Free()
	w.gate.Close()
	if w.jpeg != nil {
		w.jpeg.close()
	}
	w.slot.Close()
}
