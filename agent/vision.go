package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sync/outbox"
)

// visionWorker is the one inference worker of a camera: it owns the camera's
// classifier session (sessions are not safe to share), turns every frame of
// the queue into a defect record and appends it to the outbox. It drains the
// queue after the camera stops, so frames already captured still reach the
// store.
type visionWorker struct {
	cam    *camera.Camera
	queue  *camera.Queue
	clf    *inference.Classifier
	out    *outbox.Outbox
	enc    *defectEncoder
	stream string
	topic  string
	log    *slog.Logger

	inferred  atomic.Uint64
	failed    atomic.Uint64
	latencyNs atomic.Int64 // last inference latency
}

// run consumes frames until the queue is closed and empty. Appends use a
// context that outlives the sources' one: the outbox closes only after every
// worker returned.
func (w *visionWorker) run() error {
	var lastErr string
	for f := range w.queue.Frames() {
		err := w.process(f)
		w.queue.Release(f)
		if err != nil {
			w.failed.Add(1)
			if err.Error() != lastErr { // once per kind of failure, not per frame
				w.log.Error("frame not processed", "err", err)
				lastErr = err.Error()
			}
			if errors.Is(err, outbox.ErrClosed) {
				return err
			}
			continue
		}
		lastErr = ""
	}
	return nil
}

func (w *visionWorker) process(f *camera.Frame) error {
	start := time.Now()
	res, err := w.clf.Classify(f.Mat)
	if err != nil {
		return err
	}
	latency := time.Since(start)
	w.latencyNs.Store(int64(latency))
	payload, err := w.enc.encode(f.Time, res, latency, "")
	if err != nil {
		return err
	}
	_, err = w.out.Append(context.Background(), outbox.Record{
		Stream:   w.stream,
		Topic:    w.topic,
		QoS:      1,
		Priority: outbox.PriorityEvent,
		Payload:  payload,
		JSON:     true,
	})
	if err != nil {
		return err
	}
	w.inferred.Add(1)
	return nil
}
