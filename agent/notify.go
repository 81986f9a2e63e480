package agent

import (
	"context"
	"log/slog"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifier tells systemd about the agent's lifecycle (Type=notify units):
// READY=1 once started, WATCHDOG=1 while alive when WatchdogSec is set, and
// STOPPING=1 on shutdown. Outside systemd (no NOTIFY_SOCKET) it does nothing.
type notifier struct {
	log *slog.Logger
}

func (n notifier) send(state string) {
	ok, err := daemon.SdNotify(false, state)
	if err != nil {
		n.log.Warn("sd_notify failed", "state", state, "err", err)
		return
	}
	if ok {
		n.log.Debug("sd_notify", "state", state)
	}
}

// Ready reports that start-up is complete.
func (n notifier) Ready() { n.send(daemon.SdNotifyReady) }

// Stopping reports that shutdown has begun.
func (n notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Watchdog pings systemd at half the WATCHDOG_USEC interval until ctx ends,
// as long as alive() says the agent's main loops are making progress.
func (n notifier) Watchdog(ctx context.Context, alive func() bool) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	every(ctx, interval/2, func() {
		if alive() {
			n.send(daemon.SdNotifyWatchdog)
		}
	})
}
