package agent

import (
	"context"
	"time"
)

// every calls fn every interval until ctx ends. The loops of the agent's
// periodic chores (metrics, the systemd watchdog, heap trims) run on it.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
