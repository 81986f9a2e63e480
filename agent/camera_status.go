package agent

import (
	"context"
	"time"

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
// state changes, until ctx ends. A change seen while offline stays pending
// and is published once connected: the birth message of a connection is
// made when it is dialled, so a change during the dial would otherwise be
// missing from the retained status until the next change.
func (a *Agent) republishStatus(ctx context.Context) {
	retry := time.NewTicker(statusRetry)
	defer retry.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.statusDirty:
			pending = true
		case <-retry.C:
		}
		if !pending || a.up == nil || !a.up.Connected() {
			continue
		}
		if err := a.up.Publish(a.layout.Status(), 1, true, a.birth()); err != nil {
			a.log.Debug("status not republished", "err", err)
			continue
		}
		pending = false
	}
}

// statusRetry is how often a status change seen while offline is tried
// again.
const statusRetry = 500 * time.Millisecond
