package agent

import (
	"errors"
	"fmt"
	"reflect"
	"time"
)

// ErrNoConfigFile means Reload was called on an agent that was not told
// which file its config came from.
var ErrNoConfigFile = errors.New("no config file to reload")

// ReloadResult says what a reload changed.
type ReloadResult struct {
	// Added, Removed and Restarted name the cameras whose pipelines were
	// started, stopped, or stopped and started again with a changed config
	// (source, rate, gating, snapshots, trigger, or the model they use).
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Restarted []string `json:"restarted"`
	// Unchanged cameras kept running without losing a frame.
	Unchanged []string `json:"unchanged"`
	// SensorsRestarted says the sensor pipeline was replaced by one built
	// from the new sensors, assets or asset models; its windows refill.
	SensorsRestarted bool `json:"sensors_restarted"`
	// Thresholds names the assets whose warn, alarm or k changed in place,
	// keeping their windows and alert states.
	Thresholds []string `json:"thresholds"`
	// RestartRequired names the changed sections that only take effect
	// when the daemon restarts (device, store, mqtt, ...).
	RestartRequired []string `json:"restart_required"`
	// DurationMS is how long the reload took.
	DurationMS int64 `json:"duration_ms"`
}

// SetConfigFile records the file the config was loaded from, for Reload
// (the reload command and SIGHUP).
func (a *Agent) SetConfigFile(path string) { a.configPath = path }

// Reload reads the config file again and applies it without a restart: the
// pipelines of added, removed and changed cameras are started, stopped or
// replaced; unchanged cameras keep running. New asset thresholds go in
// force in place; other changes to sensors, assets or their models replace
// the sensor pipeline. An invalid config, or a new camera or sensor
// pipeline that cannot be built (a model does not load, a source URL is
// refused), is refused with every error and the running config stays in
// force. Sections that cannot change while running are listed in
// RestartRequired. Safe for concurrent use; reloads run one at a time.
func (a *Agent) Reload() (ReloadResult, error) {
	if a.configPath == "" {
		return ReloadResult{}, ErrNoConfigFile
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.pipeMu.RLock()
	running := a.units != nil
	a.pipeMu.RUnlock()
	if !running {
		return ReloadResult{}, errors.New("the agent is not running")
	}
	start := time.Now()
	log := a.log.With("component", "reload", "file", a.configPath)
	next, err := LoadConfig(a.configPath)
	if err != nil {
		log.Error("config refused; the running config stays in force", "err", err)
		return ReloadResult{}, fmt.Errorf("config refused, the running config stays in force: %w", err)
	}
	cur := a.cfg
	res := diffConfig(cur, next)

	// Build every new pipeline before stopping anything, so that a camera
	// that cannot be built leaves the running ones untouched.
	merged := *cur
	merged.Cameras, merged.Models = next.Cameras, next.Models
	merged.Sensors, merged.Assets = next.Sensors, next.Assets
	a.pipeMu.Lock()
	a.cfg = &merged
	a.pipeMu.Unlock()
	var built []*cameraUnit
	for _, cc := range next.Cameras {
		if !contains(res.Added, cc.Name) && !contains(res.Restarted, cc.Name) {
			continue
		}
		u, err := a.buildUnit(cc)
		if err != nil {
			for _, b := range built {
				b.w.close()
			}
			a.pipeMu.Lock()
			a.cfg = cur
			a.pipeMu.Unlock()
			log.Error("config refused; the running config stays in force", "camera", cc.Name, "err", err)
			return ReloadResult{}, fmt.Errorf("config refused, the running config stays in force: cameras.%s: %w", cc.Name, err)
		}
		built = append(built, u)
	}
	plan, err := a.planSensors(cur, next)
	if err != nil {
		for _, b := range built {
			b.w.close()
		}
		a.pipeMu.Lock()
		a.cfg = cur
		a.pipeMu.Unlock()
		log.Error("config refused; the running config stays in force", "err", err)
		return ReloadResult{}, fmt.Errorf("config refused, the running config stays in force: %w", err)
	}
	remove := append(append([]string(nil), res.Removed...), res.Restarted...)
	err = a.swapUnits(remove, built, a.cameraOrder())
	res.Thresholds = a.applySensors(plan)
	res.SensorsRestarted = plan.restart
	res.DurationMS = time.Since(start).Milliseconds()
	log.Info("config reloaded", "added", res.Added, "removed", res.Removed, "restarted", res.Restarted,
		"unchanged", len(res.Unchanged), "sensors_restarted", res.SensorsRestarted, "thresholds", res.Thresholds,
		"restart_required", res.RestartRequired, "ms", res.DurationMS)
	return res, err
}

// diffConfig compares the running config with the next one: per camera, by
// name, and per section that needs a daemon restart.
func diffConfig(cur, next *Config) ReloadResult {
	res := ReloadResult{Added: []string{}, Removed: []string{}, Restarted: []string{}, Unchanged: []string{},
		Thresholds: []string{}, RestartRequired: []string{}}
	old := map[string]CameraConfig{}
	for _, cc := range cur.Cameras {
		old[cc.Name] = cc
	}
	for _, cc := range next.Cameras {
		prev, ok := old[cc.Name]
		delete(old, cc.Name)
		switch {
		case !ok:
			res.Added = append(res.Added, cc.Name)
		case !reflect.DeepEqual(prev, cc) || !reflect.DeepEqual(cur.Models[cc.Model], next.Models[cc.Model]):
			res.Restarted = append(res.Restarted, cc.Name)
		default:
			res.Unchanged = append(res.Unchanged, cc.Name)
		}
	}
	for _, cc := range cur.Cameras {
		if _, gone := old[cc.Name]; gone {
			res.Removed = append(res.Removed, cc.Name)
		}
	}
	sections := []struct {
		name string
		a, b any
	}{
		{"device", cur.Device, next.Device}, {"log", cur.Log, next.Log}, {"store", cur.Store, next.Store},
		{"mqtt", cur.MQTT, next.MQTT}, {"inference", cur.Inference, next.Inference},
		{"http", cur.HTTP, next.HTTP}, {"status", cur.Status, next.Status}, {"updates", cur.Updates, next.Updates},
	}
	for _, s := range sections {
		if !reflect.DeepEqual(s.a, s.b) {
			res.RestartRequired = append(res.RestartRequired, s.name)
		}
	}
	return res
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
