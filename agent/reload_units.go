package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/lineside/lineside/camera"
)

// cameraUnit is one camera's pipeline: the camera driver and its inference
// worker, started and stopped together with a context of their own, so a
// reload or a restart-source command can replace one camera while the
// others keep running.
type cameraUnit struct {
	cc     CameraConfig
	model  ModelConfig // the config of cc.Model when the unit was built
	cam    *camera.Camera
	w      *visionWorker
	cancel context.CancelFunc
	done   chan struct{} // closed when the camera and the worker returned
}

// start runs the unit's camera and worker until stop.
func (u *cameraUnit) start() {
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel, u.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); u.cam.Run(ctx, u.w.queue) }()
	go func() { defer wg.Done(); u.w.run() }()
	go func() { wg.Wait(); close(u.done) }()
}

// halt stops the camera and waits until the worker has handed every queued
// frame to the store; the worker's resources stay until close.
func (u *cameraUnit) halt() {
	if u.cancel != nil {
		u.cancel()
		<-u.done
	}
}

// stop halts the unit and frees its worker.
func (u *cameraUnit) stop() {
	u.halt()
	u.w.close()
}

// workers returns the running inference workers, one per camera, in config
// order. The slice is the caller's.
func (a *Agent) workers() []*visionWorker {
	a.pipeMu.RLock()
	defer a.pipeMu.RUnlock()
	return slices.Clone(a.vision)
}

// cameraList returns the running cameras in config order.
func (a *Agent) cameraList() []*camera.Camera {
	a.pipeMu.RLock()
	defer a.pipeMu.RUnlock()
	return slices.Clone(a.cameras)
}

// startCameras starts the pipeline of every camera built by start.
func (a *Agent) startCameras() {
	a.pipeMu.Lock()
	defer a.pipeMu.Unlock()
	a.units = map[string]*cameraUnit{}
	for i, cc := range a.cfg.Cameras {
		u := &cameraUnit{cc: cc, model: a.cfg.Models[cc.Model], cam: a.cameras[i], w: a.vision[i]}
		u.start()
		a.units[cc.Name] = u
	}
}

// stopCameras stops every camera at shutdown: all sources at once, then each
// worker drains its queue into the store; then the workers are freed.
func (a *Agent) stopCameras() {
	a.reloadMu.Lock() // no reload may start pipelines behind the shutdown
	defer a.reloadMu.Unlock()
	a.pipeMu.Lock()
	defer a.pipeMu.Unlock()
	for _, u := range a.units {
		if u.cancel != nil {
			u.cancel()
		}
	}
	for _, u := range a.units {
		u.stop()
	}
	a.units = nil
}

// buildUnit makes a new, not yet started pipeline for cc.
func (a *Agent) buildUnit(cc CameraConfig) (*cameraUnit, error) {
	cam, w, err := a.buildCamera(cc)
	if err != nil {
		return nil, err
	}
	return &cameraUnit{cc: cc, model: a.cfg.Models[cc.Model], cam: cam, w: w}, nil
}

// swapUnits stops the units named in remove, adds and starts the units in
// add, and rebuilds the camera and worker lists in the order of order (the
// camera names of the config now in force). Callers hold reloadMu.
func (a *Agent) swapUnits(remove []string, add []*cameraUnit, order []string) error {
	a.pipeMu.Lock()
	old := make([]*cameraUnit, 0, len(remove))
	for _, name := range remove {
		if u := a.units[name]; u != nil {
			old = append(old, u)
			delete(a.units, name)
		}
	}
	a.pipeMu.Unlock()
	// Stop outside the lock: a stop waits for the queue to drain, and
	// status and metrics keep reading the lists meanwhile.
	for _, u := range old {
		u.halt()
		if a.registry != nil {
			a.registry.Unregister(u.cc.Model, u.w.modelSlot())
		}
		u.w.close()
	}
	var regErr error
	a.pipeMu.Lock()
	for _, u := range add {
		a.units[u.cc.Name] = u
	}
	a.cameras, a.vision = a.cameras[:0:0], a.vision[:0:0]
	for _, name := range order {
		if u := a.units[name]; u != nil {
			a.cameras = append(a.cameras, u.cam)
			a.vision = append(a.vision, u.w)
		}
	}
	a.pipeMu.Unlock()
	for _, u := range add {
		if a.updates != nil {
			if err := a.registerSlot(u.cc.Model, u.w); err != nil && regErr == nil {
				regErr = fmt.Errorf("camera %s: %w", u.cc.Name, err)
			}
		}
		u.start()
	}
	a.cameraStateChanged(camera.Health{})
	return regErr
}

// restartCamera replaces the named camera's pipeline by a fresh one built
// from its config: the source is reopened and the model loaded again.
func (a *Agent) restartCamera(name string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.pipeMu.RLock()
	u := a.units[name]
	a.pipeMu.RUnlock()
	if u == nil {
		return fmt.Errorf("no camera %q running", name)
	}
	nu, err := a.buildUnit(u.cc)
	if err != nil {
		return fmt.Errorf("camera %s not restarted, the old pipeline keeps running: %w", name, err)
	}
	a.log.Info("restarting camera", "component", "commands", "camera", name)
	return a.swapUnits([]string{name}, []*cameraUnit{nu}, a.cameraOrder())
}

// cameraOrder returns the camera names of the config in force.
func (a *Agent) cameraOrder() []string {
	names := make([]string, len(a.cfg.Cameras))
	for i, cc := range a.cfg.Cameras {
		names[i] = cc.Name
	}
	return names
}
