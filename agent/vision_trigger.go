package agent

import (
	"time"
)

// subscribeTimeout bounds the wait for the broker's SUBACK on connect.
const subscribeTimeout = 5 * time.Second

// Trigger opens the gate of the named camera, or of every camera when
// camera is "", for its trigger window, provided the camera's
// trigger.mode is sensor. It returns how many cameras it triggered.
//
// This is the entry point for the sensor side: a sensor point's rising edge
// calls Trigger with the camera it is wired to. MQTT triggers (trigger.mode
// mqtt) arrive as the trigger command on {base}/cmd/trigger instead (see
// commands_builtin.go). Safe for concurrent use once Run started.
func (a *Agent) Trigger(camera string) int {
	return a.trigger(TriggerSensor, camera)
}

// trigger opens the gates of the cameras in mode whose name is camera (all
// of them for "").
func (a *Agent) trigger(mode, camera string) int {
	n := 0
	for _, w := range a.workers() {
		if w.triggerMode == mode && (camera == "" || camera == w.name) {
			w.trigger()
			n++
		}
	}
	return n
}

// triggerArgs are the optional arguments of the trigger command.
type triggerArgs struct {
	// Camera names the camera to trigger; empty triggers every camera whose
	// trigger.mode is mqtt.
	Camera string `json:"camera"`
}
