package agent

import (
	"context"

	"github.com/lineside/lineside/camera"
)

// cameraStateChanged is every camera's OnState hook: it asks for the
// retained status to be published again. It never blocks; changes that come
// while a publish is pending are folded into it, since each publish carries
// every camera's current state.
func (a *Agent) cameraStateChanged(camera.Health) {
	select {
	case a.statusDirty <- struct{}{}:
	default:
	}
}

// republishStatus publishes the retained {base}/status again after camera
// state changes, until ctx ends. While offline it does nothing: the birth
// message of the next connection carries the states.
func (a *Agent) republishStatus(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.statusDirty:
		}
		if a.up == nil || !a.up.Connected() {
			continue
		}
		if err := a.up.Publish(a.layout.Status(), 1, true, a.birth()); err != nil {
			a.log.Debug("status not republished", "err", err)
		}
	}
}
