package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// triggerCommand is the name of the MQTT trigger command:
// {base}/cmd/trigger, replied to on {base}/cmd/trigger/reply.
const triggerCommand = "trigger"

// subscribeTimeout bounds the wait for the broker's SUBACK on connect.
const subscribeTimeout = 5 * time.Second

// Trigger opens the gate of the named camera, or of every camera when
// camera is "", for its trigger window, provided the camera's
// trigger.mode is sensor. It returns how many cameras it triggered.
//
// This is the entry point for the sensor side: a sensor point's rising edge
// calls Trigger with the camera it is wired to. Sensors are not part of this
// version, so nothing calls it yet; MQTT triggers (trigger.mode mqtt) arrive
// on {base}/cmd/trigger instead. Safe for concurrent use once Run started.
func (a *Agent) Trigger(camera string) int {
	return a.trigger(TriggerSensor, camera)
}

// trigger opens the gates of the cameras in mode whose name is camera (all
// of them for "").
func (a *Agent) trigger(mode, camera string) int {
	n := 0
	for _, w := range a.vision {
		if w.triggerMode == mode && (camera == "" || camera == w.name) {
			w.trigger()
			n++
		}
	}
	return n
}

// onConnect subscribes to the trigger command on every new connection (the
// uplink dials a fresh client each time, so subscriptions do not carry over).
func (a *Agent) onConnect(c mqtt.Client) {
	if !a.hasTriggerMode(TriggerMQTT) {
		return
	}
	tok := c.Subscribe(a.layout.Command(triggerCommand), 1, a.onTriggerMessage)
	if !tok.WaitTimeout(subscribeTimeout) {
		a.log.Warn("trigger subscription not confirmed", "topic", a.layout.Command(triggerCommand), "timeout", subscribeTimeout)
		return
	}
	if err := tok.Error(); err != nil {
		a.log.Error("trigger subscription failed", "topic", a.layout.Command(triggerCommand), "err", err)
	}
}

// hasTriggerMode reports whether any camera waits for triggers of mode.
func (a *Agent) hasTriggerMode(mode string) bool {
	for _, w := range a.vision {
		if w.triggerMode == mode {
			return true
		}
	}
	return false
}

// triggerArgs are the optional arguments of the trigger command.
type triggerArgs struct {
	// Camera names the camera to trigger; empty triggers every camera whose
	// trigger.mode is mqtt.
	Camera string `json:"camera"`
}

// onTriggerMessage handles {base}/cmd/trigger and replies without waiting
// for the reply's delivery: it runs in the MQTT client's goroutine.
func (a *Agent) onTriggerMessage(c mqtt.Client, m mqtt.Message) {
	var args triggerArgs
	var err error
	if p := bytes.TrimSpace(m.Payload()); len(p) > 0 {
		if jerr := json.Unmarshal(p, &args); jerr != nil {
			err = fmt.Errorf("arguments are not a JSON object like {\"camera\":\"cam1\"}: %w", jerr)
		}
	}
	n := 0
	if err == nil {
		if n = a.trigger(TriggerMQTT, args.Camera); n == 0 {
			err = fmt.Errorf("no camera %q with trigger.mode mqtt", args.Camera)
		}
	}
	reply := map[string]any{"ok": err == nil, "error": nil, "result": map[string]int{"cameras": n}}
	if err != nil {
		reply["error"] = err.Error()
		a.log.Warn("trigger command refused", "err", err)
	}
	b, _ := json.Marshal(reply)
	c.Publish(a.layout.Reply(triggerCommand), 0, false, b)
}
