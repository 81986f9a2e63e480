package agent

import (
	"fmt"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"

	// Sensor sources register themselves by URL scheme.
	_ "github.com/lineside/lineside/sensors/modbus"
	_ "github.com/lineside/lineside/sensors/mqttin"
	_ "github.com/lineside/lineside/sensors/opcua"
	_ "github.com/lineside/lineside/sensors/simsrc"
)

// addSensors loads every failure-prediction model that assets use, with
// room for all of its assets in one batch, and builds the sensor pipeline.
// Without sensors it does nothing.
func (a *Agent) addSensors() error { return a.addSensorsTo(a.out) }

// addSensorsTo is addSensors with the store made explicit.
func (a *Agent) addSensorsTo(out healthStore) error {
	cfg := a.cfg
	if len(cfg.Sensors) == 0 && len(cfg.Assets) == 0 {
		return nil
	}
	perModel := map[string]int{}
	for _, ac := range cfg.Assets {
		perModel[ac.Model]++
	}
	models := map[string]*pdmModel{}
	for name, n := range perModel {
		mc := cfg.Models[name]
		pred, err := inference.LoadPredictor(mc.Path, inference.PredictorOptions{
			Overrides: mc.Metadata, IntraThreads: cfg.Inference.IntraThreads, MaxBatch: n,
		})
		if err != nil {
			return fmt.Errorf("%w: models.%s: %w", ErrModel, name, err)
		}
		a.predictors = append(a.predictors, pred)
		md := pred.Metadata()
		models[name] = &pdmModel{name: name, version: md.Version, pred: pred}
		a.models[name] = md.Version
	}
	hub, err := newSensorHub(cfg, models, out, a.log)
	if err != nil {
		return err
	}
	hub.onState = func() { a.cameraStateChanged(camera.Health{}) }
	a.sensors = hub
	return nil
}

// closeSensors frees the predictors.
func (a *Agent) closeSensors() {
	for _, p := range a.predictors {
		p.Close()
	}
	a.predictors = nil
}
