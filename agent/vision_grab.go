package agent

import (
	"context"
	"errors"

	"github.com/lineside/lineside/camera"
)

// errGrabBusy means a snapshot of the camera is already being taken.
var errGrabBusy = errors.New("a snapshot of this camera is already being taken")

// grabRequest asks a worker for a JPEG of its next frame.
type grabRequest struct {
	done chan grabResult // buffered: the worker never waits
}

type grabResult struct {
	jpeg []byte
	err  error
}

// grab returns a JPEG of the camera's next frame, whatever the gate says
// about it, or ctx's error when no frame comes in time. The frame is
// encoded on the worker's goroutine, which owns it.
func (w *visionWorker) grab(ctx context.Context) ([]byte, error) {
	req := &grabRequest{done: make(chan grabResult, 1)}
	if !w.grabReq.CompareAndSwap(nil, req) {
		return nil, errGrabBusy
	}
	select {
	case r := <-req.done:
		return r.jpeg, r.err
	case <-ctx.Done():
		if w.grabReq.CompareAndSwap(req, nil) {
			return nil, errors.New("no frame from the camera in time")
		}
		r := <-req.done // taken just now: the answer is on its way
		return r.jpeg, r.err
	}
}

// serveGrab answers a pending grab with f. Without one it costs one atomic
// load per frame.
func (w *visionWorker) serveGrab(f *camera.Frame) {
	if w.grabReq.Load() == nil {
		return
	}
	req := w.grabReq.Swap(nil)
	if req == nil {
		return
	}
	quality, width := w.snapCfg.Quality, w.snapCfg.MaxWidth
	if quality <= 0 {
		quality = DefaultSnapshotQuality
	}
	if width <= 0 {
		width = DefaultSnapshotMaxWidth
	}
	enc := newSnapshotEncoder(quality, width)
	defer enc.close()
	b, err := enc.encode(f.Mat, nil)
	req.done <- grabResult{jpeg: b, err: err}
}
