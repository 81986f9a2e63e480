package agent

import (
	"context"
	"fmt"
	"maps"
	"reflect"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sensors/assets"
)

// Model metadata keys a reload applies in place, without reloading the
// model or restarting the sensor pipeline.
var thresholdKeys = []string{"threshold.warn", "threshold.alarm"}

// sensorRun is the running sensor pipeline's stop.
type sensorRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the hub returned
}

// sensorPlan is what a reload does to the sensor pipeline, prepared
// before anything running is stopped.
type sensorPlan struct {
	// restart: the hub (nil when the new config has no sensors) and its
	// predictors replace the running ones.
	restart bool
	hub     *sensorHub
	preds   []*inference.Predictor
	models  map[string]string // model name → version of the new predictors
	// thresholds: new alert levels per asset, put in force in place.
	thresholds map[string]assets.Thresholds
}

// assetThresholds returns an asset's alert levels: its own warn and alarm
// where set, else the model's.
func assetThresholds(ac AssetConfig, warn, alarm float64) assets.Thresholds {
	th := assets.Thresholds{Warn: warn, Alarm: alarm, K: ac.K}
	if ac.Warn > 0 {
		th.Warn = ac.Warn
	}
	if ac.Alarm > 0 {
		th.Alarm = ac.Alarm
	}
	return th
}

// buildSensors loads every failure-prediction model that cfg's assets use,
// with room for all of its assets in one batch, and builds a sensor
// pipeline that is not started. Without sensors and assets it returns a nil
// hub. On an error everything it loaded is freed.
func (a *Agent) buildSensors(cfg *Config, out healthStore) (*sensorHub, []*inference.Predictor, map[string]string, error) {
	if len(cfg.Sensors) == 0 && len(cfg.Assets) == 0 {
		return nil, nil, nil, nil
	}
	perModel := map[string]int{}
	for _, ac := range cfg.Assets {
		perModel[ac.Model]++
	}
	var preds []*inference.Predictor
	free := func() {
		for _, p := range preds {
			p.Close()
		}
	}
	models, versions := map[string]*pdmModel{}, map[string]string{}
	for name, n := range perModel {
		mc := cfg.Models[name]
		pred, err := a.loadServingPredictor(name, mc, inference.PredictorOptions{
			Overrides: mc.Metadata, IntraThreads: cfg.Inference.IntraThreads, MaxBatch: n,
		})
		if err != nil {
			free()
			return nil, nil, nil, fmt.Errorf("%w: models.%s: %w", ErrModel, name, err)
		}
		preds = append(preds, pred)
		md := pred.Metadata()
		models[name] = &pdmModel{name: name, version: md.Version, pred: pred}
		versions[name] = md.Version
	}
	hub, err := newSensorHub(cfg, models, out, a.log)
	if err != nil {
		free()
		return nil, nil, nil, err
	}
	hub.onState = func() { a.cameraStateChanged(camera.Health{}) }
	return hub, preds, versions, nil
}

// sensorHub returns the running sensor pipeline, nil without sensors.
func (a *Agent) sensorHub() *sensorHub {
	a.pipeMu.RLock()
	defer a.pipeMu.RUnlock()
	return a.sensors
}

// startSensors runs the sensor pipeline built by start, if any, until
// stopSensors.
func (a *Agent) startSensors() {
	a.pipeMu.Lock()
	defer a.pipeMu.Unlock()
	a.runHub(a.sensors)
}

// runHub starts h (nil: nothing) and records its stop. Callers hold pipeMu.
func (a *Agent) runHub(h *sensorHub) {
	a.sensorRun = nil
	if h == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &sensorRun{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); h.run(ctx) }()
	a.sensorRun = r
}

// stopSensors stops the sensor pipeline: the sources end, pending batches
// run and their events go to the store.
func (a *Agent) stopSensors() {
	a.reloadMu.Lock() // no reload may start a pipeline behind the shutdown
	defer a.reloadMu.Unlock()
	a.haltSensors()
}

// planSensors compares the sensor config in force with next's and
// prepares the change: nothing, new thresholds put in force in place (the
// assets keep their windows and alert states), or a new pipeline built
// and ready to replace the running one. Nothing running is touched; an
// error means next is refused.
func (a *Agent) planSensors(cur, next *Config) (*sensorPlan, error) {
	if reflect.DeepEqual(cur.Sensors, next.Sensors) && reflect.DeepEqual(cur.Assets, next.Assets) &&
		reflect.DeepEqual(assetModels(cur), assetModels(next)) {
		return &sensorPlan{}, nil
	}
	if reflect.DeepEqual(sensorShape(cur), sensorShape(next)) {
		plan := &sensorPlan{thresholds: map[string]assets.Thresholds{}}
		hub := a.sensorHub()
		byModel := map[string]*pdmModel{}
		if hub != nil {
			for _, m := range hub.models {
				byModel[m.name] = m
			}
		}
		for _, ac := range next.Assets {
			m := byModel[ac.Model]
			if m == nil {
				return nil, fmt.Errorf("assets.%s: model %s is not running", ac.Name, ac.Model)
			}
			md, err := m.pred.Metadata().Merge(next.Models[ac.Model].Metadata)
			if err != nil {
				return nil, fmt.Errorf("models.%s.metadata: %w", ac.Model, err)
			}
			th := assetThresholds(ac, md.Threshold.Warn, md.Threshold.Alarm)
			if err := th.Validate(); err != nil {
				return nil, fmt.Errorf("assets.%s: %w", ac.Name, err)
			}
			plan.thresholds[ac.Name] = th
		}
		return plan, nil
	}
	out := healthStore(a.out)
	if hub := a.sensorHub(); hub != nil {
		out = hub.out
	}
	hub, preds, versions, err := a.buildSensors(next, out)
	if err != nil {
		return nil, err
	}
	return &sensorPlan{restart: true, hub: hub, preds: preds, models: versions}, nil
}

// applySensors carries out a plan: new thresholds go in force on the
// pipeline's goroutine, or the running pipeline is stopped (its pending
// batches run and go to the store) and the new one started. Health event
// seqs continue, as they come from the store; a restarted pipeline's
// windows refill from new samples before its first inference. It returns
// the assets whose thresholds changed in place. Callers hold reloadMu.
func (a *Agent) applySensors(p *sensorPlan) []string {
	changed := []string{}
	if len(p.thresholds) > 0 {
		hub := a.sensorHub()
		done := make(chan struct{})
		apply := func() {
			defer close(done)
			for _, as := range hub.assets {
				th, ok := p.thresholds[as.name]
				if !ok || th == as.alert.Thresholds() {
					continue
				}
				if err := as.alert.SetThresholds(th); err != nil {
					hub.log.Error("thresholds not applied", "asset", as.name, "err", err)
					continue
				}
				hub.log.Info("thresholds applied", "asset", as.name, "warn", th.Warn, "alarm", th.Alarm, "k", th.K)
				changed = append(changed, as.name)
			}
		}
		a.pipeMu.RLock()
		r := a.sensorRun
		a.pipeMu.RUnlock()
		if r != nil {
			select {
			case hub.ctl <- apply:
				<-done
			case <-r.done:
			}
		}
		return changed
	}
	if !p.restart {
		return changed
	}
	a.haltSensors()
	a.pipeMu.Lock()
	old := a.predictors
	a.sensors, a.predictors = p.hub, p.preds
	maps.Copy(a.models, p.models)
	a.runHub(p.hub)
	a.pipeMu.Unlock()
	for _, pr := range old {
		pr.Close()
	}
	a.cameraStateChanged(camera.Health{})
	return changed
}

// haltSensors stops the running pipeline; callers hold reloadMu.
func (a *Agent) haltSensors() {
	a.pipeMu.Lock()
	r := a.sensorRun
	a.sensorRun = nil
	a.pipeMu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// assetModels returns the configs of the models that assets use.
func assetModels(cfg *Config) map[string]ModelConfig {
	out := map[string]ModelConfig{}
	for _, ac := range cfg.Assets {
		out[ac.Model] = cfg.Models[ac.Model]
	}
	return out
}

// sensorShape is the sensor config without what a reload applies in
// place: the assets' warn, alarm and k and the values (not the presence)
// of their models' threshold metadata.
func sensorShape(cfg *Config) any {
	as := make([]AssetConfig, len(cfg.Assets))
	for i, ac := range cfg.Assets {
		ac.Warn, ac.Alarm, ac.K = 0, 0, 0
		as[i] = ac
	}
	ms := assetModels(cfg)
	for name, mc := range ms {
		md := maps.Clone(mc.Metadata)
		for _, k := range thresholdKeys {
			if _, ok := md[k]; ok {
				md[k] = ""
			}
		}
		mc.Metadata = md
		ms[name] = mc
	}
	return struct {
		sensors []SensorConfig
		assets  []AssetConfig
		models  map[string]ModelConfig
	}{cfg.Sensors, as, ms}
}
