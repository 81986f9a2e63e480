package agent

import (
	"fmt"
	"time"

	"github.com/lineside/lineside/sync/update"
)

// swapWait bounds how long a swap waits for every worker's first frame on the
// new version before it reports the swap done anyway (a camera without frames
// takes the new version with its next frame).
const swapWait = 10 * time.Second

// probation watches a freshly swapped-in version.
type probation struct {
	version string
	until   time.Time
}

// install validates a verified model file and swaps it in: a fresh
// classifier per worker, each smoke-tested, handed over between frames.
func (u *updater) install(m *update.Manifest, path string) {
	name := m.Name
	if u.predictor(name) != nil {
		u.installPredictor(m, path)
		return
	}
	u.setState(name, func(s *modelState) { s.State, s.Staged = stateValidating, m.Version })
	start := time.Now()
	clfs, err := u.reg.Load(name, path, m.Version)
	if err != nil {
		u.fail(name, m, fmt.Errorf("validation: %w", err), true)
		return
	}
	old := u.state(name).Serving
	res, err := u.reg.Swap(name, clfs, m.Version, swapWait)
	if err != nil {
		u.fail(name, m, fmt.Errorf("swap: %w", err), false)
		return
	}
	if err := u.store.SetPointers(name, update.Pointers{Current: m.Version, Previous: old}); err != nil {
		u.log.Error("serving version not recorded; a restart serves the one before", "model", name, "err", err)
	}
	if err := u.store.Prune(name, m.Version, old); err != nil {
		u.log.Warn("old model versions not removed", "model", name, "err", err)
	}
	swap := time.Since(start)
	u.log.Info("model version serving", "model", name, "version", m.Version, "previous", old,
		"swap_ms", ms(swap), "first_frame", res.Served)
	u.probation[name] = &probation{version: m.Version, until: time.Now().Add(u.cfg.Rollback.Window.Std())}
	u.setState(name, func(s *modelState) {
		s.Serving, s.Previous, s.Staged = m.Version, old, ""
		s.State, s.LastError, s.SwapMS = stateProbation, "", ms(swap)
		s.Received, s.Chunks = 0, 0
	})
}

// rollback returns name to its previous version, from the store or the
// configured file, and records the version rolled back from as failed so its
// retained manifest is not taken again.
func (u *updater) rollback(name, reason string) (from, to string, err error) {
	st := u.state(name)
	from, to = st.Serving, st.Previous
	if to == "" || to == from {
		return from, "", fmt.Errorf("model %s has no previous version to roll back to", name)
	}
	path, onDisk := u.configured[name].path, u.store.HasModel(name, to)
	if onDisk {
		path = u.store.ModelPath(name, to)
	} else if to != u.configured[name].version {
		return from, to, fmt.Errorf("previous version %s of model %s is not on disk", to, name)
	}
	if err := u.swapTo(name, path, to); err != nil {
		return from, to, err
	}
	p := update.Pointers{}
	if onDisk {
		p.Current = to
	}
	if err := u.store.SetPointers(name, p); err != nil {
		u.log.Error("rollback not recorded; a restart serves the version rolled back from", "model", name, "err", err)
	}
	if m, err := u.store.Manifest(name, from); err == nil {
		u.store.MarkFailed(m, "rolled back: "+reason)
	}
	delete(u.probation, name)
	u.log.Warn("model rolled back", "model", name, "from", from, "to", to, "reason", reason)
	u.setState(name, func(s *modelState) {
		s.Serving, s.Previous, s.State = to, "", stateRolledBack
		s.LastError = fmt.Sprintf("%s rolled back: %s", from, reason)
	})
	return from, to, nil
}

// checkProbation rolls back a new version that errs or is too slow, and ends
// the probation of one that behaved for the whole window.
func (u *updater) checkProbation() {
	for name, p := range u.probation {
		if reason := u.judge(name, p.version); reason != "" {
			if _, _, err := u.rollback(name, reason); err != nil {
				u.log.Error("automatic rollback failed", "model", name, "reason", reason, "err", err)
				delete(u.probation, name)
			}
			continue
		}
		if time.Now().After(p.until) {
			u.endProbation(name)
		}
	}
}

// judge returns why version of name must be rolled back, or "".
func (u *updater) judge(name, version string) string {
	rb := u.cfg.Rollback
	if t := u.predictor(name); t != nil {
		return t.judge(name, version, rb.MaxErrors)
	}
	for _, s := range u.reg.Slots(name) {
		st := s.Stats()
		if st.Version != version {
			continue
		}
		if st.Errors >= uint64(rb.MaxErrors) {
			return fmt.Sprintf("%d inference errors in %d frames within the probation window (limit %d)", st.Errors, st.Frames, rb.MaxErrors)
		}
		if rb.LatencyFactor > 0 && st.Frames >= uint64(rb.MinFrames) && st.Baseline > 0 &&
			float64(st.Median) > rb.LatencyFactor*float64(st.Baseline) {
			return fmt.Sprintf("median latency %s is %.1fx the previous version's %s (limit %gx)",
				st.Median, float64(st.Median)/float64(st.Baseline), st.Baseline, rb.LatencyFactor)
		}
	}
	return ""
}

// endProbation marks a version as settled.
func (u *updater) endProbation(name string) {
	delete(u.probation, name)
	u.setState(name, func(s *modelState) {
		if s.State == stateProbation {
			s.State = stateServing
		}
	})
}

// state returns a copy of one model's reported state.
func (u *updater) state(name string) modelState {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s := u.states[name]; s != nil {
		return *s
	}
	return modelState{}
}

// sameAsServing reports whether m describes the file of the serving version
// (its manifest, delivered again on reconnect).
func (u *updater) sameAsServing(m *update.Manifest) bool {
	return u.sameStaged(m)
}

// sameStaged reports whether the store holds m's version from the same file.
func (u *updater) sameStaged(m *update.Manifest) bool {
	old, err := u.store.Manifest(m.Name, m.Version)
	return err == nil && old.SHA256 == m.SHA256
}

// newerVersion reports whether v is newer than serving by semver precedence;
// a serving version that is not a semantic version counts as older than any.
func newerVersion(v, serving string) bool {
	c, err := update.CompareVersions(v, serving)
	if err != nil {
		_, verr := update.ParseVersion(v)
		return verr == nil
	}
	return c > 0
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
