package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// States of a model in {base}/models/state.
const (
	stateServing    = "serving"    // serving Serving, nothing under way
	stateFetching   = "fetching"   // chunks of Staged are arriving
	stateValidating = "validating" // Staged is checked and loaded
	stateProbation  = "probation"  // Serving is new and watched
	stateRefused    = "refused"    // the last manifest or chunk was refused
	stateFailed     = "failed"     // the last transfer or validation failed
	stateRolledBack = "rolled_back"
)

// modelState is one model's entry in {base}/models/state.
type modelState struct {
	// Serving is the version the workers run.
	Serving string `json:"serving"`
	// Previous is the version a rollback returns to.
	Previous string `json:"previous,omitempty"`
	// Staged is the version being fetched or validated.
	Staged string `json:"staged,omitempty"`
	// State is one of the state* values.
	State string `json:"state"`
	// Received and Chunks show a transfer's progress.
	Received int `json:"received,omitempty"`
	Chunks   int `json:"chunks,omitempty"`
	// LastError is the reason of the last refusal, failure or rollback.
	LastError string `json:"last_error,omitempty"`
	// SwapMS is the time from the verified file to the first frame on the
	// new version, in milliseconds, for the last swap.
	SwapMS float64 `json:"swap_ms,omitempty"`
	// Updated is when the entry last changed.
	Updated time.Time `json:"updated"`
}

// setState changes one model's entry and publishes the state.
func (u *updater) setState(name string, f func(*modelState)) {
	u.mu.Lock()
	s := u.states[name]
	if s == nil {
		s = &modelState{State: stateServing}
		u.states[name] = s
	}
	f(s)
	s.Updated = time.Now().UTC()
	u.mu.Unlock()
	u.publishState()
}

// refuse reports a refused manifest or chunk: the serving model is
// untouched.
func (u *updater) refuse(name, version string, err error) {
	u.log.Warn("model update refused", "model", name, "version", version, "err", err)
	u.setState(name, func(s *modelState) {
		s.State = stateRefused
		s.LastError = fmt.Sprintf("%s: %v", version, err)
	})
}

// servingVersions returns name → serving version, for the status payload.
func (u *updater) servingVersions() map[string]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]string, len(u.states))
	for name, s := range u.states {
		out[name] = s.Serving
	}
	return out
}

// publishState publishes {base}/models/state (retained) without waiting for
// the broker; it is published again on every connect.
func (u *updater) publishState() {
	u.mu.Lock()
	c := u.client
	b, _ := json.Marshal(map[string]any{"models": u.states, "ts": time.Now().UTC()})
	u.mu.Unlock()
	if c != nil && c.IsConnectionOpen() {
		c.Publish(u.layout.ModelsState(), 1, true, b)
	}
}

// rollbackCommand is {base}/cmd/rollback, replied to on .../reply.
const rollbackCommand = "rollback"

// rollbackArgs are the arguments of the rollback command.
type rollbackArgs struct {
	// Model names the model to roll back; it may be left out when the
	// device has one model.
	Model string `json:"model"`
}

// rollbackCommand runs one rollback command: payload is empty or
// {"model": "defect"}. It is the function a general command dispatcher
// calls for "rollback".
func (u *updater) rollbackCommand(payload []byte) (map[string]string, error) {
	var args rollbackArgs
	if p := bytes.TrimSpace(payload); len(p) > 0 {
		if err := json.Unmarshal(p, &args); err != nil {
			return nil, fmt.Errorf("arguments are not a JSON object like {\"model\":\"defect\"}: %w", err)
		}
	}
	if args.Model == "" {
		names := slices.Sorted(maps.Keys(u.configured))
		if len(names) != 1 {
			return nil, fmt.Errorf("name the model to roll back, one of %v", names)
		}
		args.Model = names[0]
	}
	if _, ok := u.configured[args.Model]; !ok {
		return nil, fmt.Errorf("no model %q on this device", args.Model)
	}
	from, to, err := u.rollback(args.Model, "rollback command")
	if err != nil {
		return nil, err
	}
	return map[string]string{"model": args.Model, "from": from, "to": to}, nil
}
