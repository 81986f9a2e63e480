package agent

import (
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
	hub, preds, versions, err := a.buildSensors(a.cfg, out)
	if err != nil {
		return err
	}
	a.predictors = append(a.predictors, preds...)
	for name, v := range versions {
		a.models[name] = v
	}
	a.sensors = hub
	return a.registerPredictors(a.cfg)
}

// closeSensors frees the predictors.
func (a *Agent) closeSensors() {
	for _, p := range a.predictors {
		p.Close()
	}
	a.predictors = nil
}
