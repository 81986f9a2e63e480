package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lineside/lineside/sync/outbox"
)

// Names of the built-in commands on {base}/cmd/{name}.
const (
	cmdPing          = "ping"
	cmdReload        = "reload"
	cmdSnapshot      = "snapshot"
	cmdRestartSource = "restart-source"
	cmdTrigger       = "trigger"
)

// grabTimeout is how long the snapshot command waits for a camera's next
// frame.
const grabTimeout = 10 * time.Second

// registerCommands registers every built-in command with d.
func (a *Agent) registerCommands(d *dispatcher) {
	d.register(cmdPing, a.cmdPing)
	d.register(cmdReload, func(context.Context, json.RawMessage) (any, error) { return a.Reload() })
	d.register(cmdSnapshot, a.cmdSnapshot)
	d.register(cmdRestartSource, a.cmdRestartSource)
	d.register(cmdTrigger, a.cmdTrigger)
	d.register(rollbackCommand, func(ctx context.Context, args json.RawMessage) (any, error) {
		if a.updates == nil {
			return nil, errors.New("model updates are not running")
		}
		return a.updates.runRollback(ctx, args)
	})
}

// cmdPing answers with the agent's version and uptime; it proves the
// command path works end to end.
func (a *Agent) cmdPing(_ context.Context, args json.RawMessage) (any, error) {
	var none struct{}
	if err := decodeArgs(args, &none, "{}"); err != nil {
		return nil, err
	}
	return map[string]any{
		"pong": true, "version": Version, "started": a.started.Format(time.RFC3339),
		"uptime_s": time.Since(a.started).Round(time.Millisecond).Seconds(),
	}, nil
}

// cameraArgs are the arguments of the commands that act on one camera.
type cameraArgs struct {
	// Camera names the camera; it may be left out when there is one.
	Camera string `json:"camera"`
}

// pickWorker returns the worker of the named camera, or the only one.
func (a *Agent) pickWorker(name string) (*visionWorker, error) {
	ws := a.workers()
	if name == "" {
		if len(ws) == 1 {
			return ws[0], nil
		}
		return nil, fmt.Errorf("name the camera, one of %v", workerNames(ws))
	}
	for _, w := range ws {
		if w.name == name {
			return w, nil
		}
	}
	return nil, fmt.Errorf("no camera %q; cameras: %v", name, workerNames(ws))
}

func workerNames(ws []*visionWorker) []string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.name
	}
	return names
}

// cmdSnapshot grabs the next frame of a camera, whatever its gate says,
// and sends it as a JPEG on {base}/snapshots/{id} through the outbox. The
// result names the snapshot's id.
func (a *Agent) cmdSnapshot(ctx context.Context, args json.RawMessage) (any, error) {
	var ca cameraArgs
	if err := decodeArgs(args, &ca, `{"camera":"cam1"}`); err != nil {
		return nil, err
	}
	w, err := a.pickWorker(ca.Camera)
	if err != nil {
		return nil, err
	}
	gctx, cancel := context.WithTimeout(ctx, grabTimeout)
	defer cancel()
	jpeg, err := w.grab(gctx)
	if err != nil {
		return nil, fmt.Errorf("camera %s: %w", w.name, err)
	}
	rc, err := a.out.Append(ctx, outbox.Record{
		Stream: "snapshot." + w.name, Topic: a.layout.Snapshot("{id}"),
		QoS: 1, Priority: outbox.PrioritySnapshot, Payload: jpeg,
	})
	if err != nil {
		return nil, fmt.Errorf("store snapshot: %w", err)
	}
	return map[string]any{"camera": w.name, "snapshot": rc.ID, "bytes": len(jpeg)}, nil
}

// cmdRestartSource stops a camera's pipeline and starts it again from its
// config, as after a reload that changed it: the source is reopened and the
// model reloaded.
func (a *Agent) cmdRestartSource(_ context.Context, args json.RawMessage) (any, error) {
	var ca cameraArgs
	if err := decodeArgs(args, &ca, `{"camera":"cam1"}`); err != nil {
		return nil, err
	}
	w, err := a.pickWorker(ca.Camera)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := a.restartCamera(w.name); err != nil {
		return nil, err
	}
	return map[string]any{"camera": w.name, "restart_ms": time.Since(start).Milliseconds()}, nil
}

// cmdTrigger opens the gate of the named camera, or of every camera in
// trigger mode mqtt, for its trigger window.
func (a *Agent) cmdTrigger(_ context.Context, args json.RawMessage) (any, error) {
	var ta triggerArgs
	if err := decodeArgs(args, &ta, `{"camera":"cam1"}`); err != nil {
		return nil, err
	}
	n := a.trigger(TriggerMQTT, ta.Camera)
	if n == 0 {
		return map[string]int{"cameras": 0}, fmt.Errorf("no camera %q with trigger.mode mqtt", ta.Camera)
	}
	return map[string]int{"cameras": n}, nil
}

// runRollback runs the rollback command on the updater's goroutine and
// waits for its outcome.
func (u *updater) runRollback(ctx context.Context, args json.RawMessage) (any, error) {
	type outcome struct {
		result map[string]string
		err    error
	}
	done := make(chan outcome, 1)
	u.enqueue(func() {
		r, err := u.rollbackCommand(args)
		done <- outcome{r, err}
	})
	select {
	case o := <-done:
		return o.result, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("rollback still running: %w", ctx.Err())
	}
}
