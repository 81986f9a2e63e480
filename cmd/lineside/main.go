// Command lineside is the shop-floor edge agent and its tools: the daemon
// (`lineside run`), config checking, model tools, the simulator and the
// cloud-side watch. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/lineside/lineside/agent"
)

// Exit codes, so that systemd logs and scripts can tell failures apart.
const (
	exitOK      = 0
	exitFailure = 1
	exitConfig  = 2
	exitLocked  = 3
	exitRuntime = 4
	exitModel   = 5
	exitUsage   = 64
)

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	var cfgErr *agent.ConfigError
	var usage usageError
	var invalid configInvalid
	code := exitFailure
	switch {
	case errors.As(err, &usage):
		code = exitUsage
	case errors.As(err, &cfgErr), errors.As(err, &invalid):
		code = exitConfig
	case errors.Is(err, agent.ErrStoreLocked):
		code = exitLocked
	case errors.Is(err, agent.ErrRuntime):
		code = exitRuntime
	case errors.Is(err, agent.ErrModel):
		code = exitModel
	}
	fmt.Fprintln(os.Stderr, "lineside:", err)
	os.Exit(code)
}

// usageError marks a wrong command line.
type usageError struct{ error }
