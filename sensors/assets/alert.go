package assets

import "fmt"

// State is an asset's alert state.
type State string

// Alert states of {base}/events/health, and the data-quality state of a
// window that could not be inferred.
const (
	StateOK    State = "ok"
	StateWarn  State = "warn"
	StateAlarm State = "alarm"
	// StateInsufficientData is reported, on the transition only, when a due
	// window has a gap beyond the tolerance and is not inferred. It does not
	// change the alert state.
	StateInsufficientData State = "insufficient_data"
)

// DefaultDebounce is K, the consecutive windows of the model card's alarm
// definition.
const DefaultDebounce = 3

// Thresholds configure an Alert.
type Thresholds struct {
	// Warn and Alarm are the p_fail levels; 0 < Warn ≤ Alarm ≤ 1.
	Warn, Alarm float64
	// K is the number of consecutive inferred windows a level must be
	// reached before its state is entered; at least 1.
	K int
}

// Validate reports thresholds that cannot work.
func (t Thresholds) Validate() error {
	switch {
	case !(t.Warn > 0 && t.Warn <= 1), !(t.Alarm > 0 && t.Alarm <= 1):
		return fmt.Errorf("warn %g, alarm %g: want levels in (0, 1]", t.Warn, t.Alarm)
	case t.Warn > t.Alarm:
		return fmt.Errorf("warn %g is above alarm %g", t.Warn, t.Alarm)
	case t.K < 1:
		return fmt.Errorf("k %d: want at least 1", t.K)
	}
	return nil
}

// Alert is the per-asset state machine of the pdm-lstm model card, fed
// with the p_fail of every inferred window, starting in ok:
//
//	p ≥ alarm for K consecutive windows, state not alarm  → alarm (an alarm is raised)
//	p ≥ warn for K consecutive windows, state ok          → warn
//	p < warn, state warn or alarm                         → ok
//
// A window that is not inferred is not fed and changes nothing: the
// consecutive counts carry over it. The zero value is not usable; use
// NewAlert.
type Alert struct {
	th           Thresholds
	state        State
	aboveWarn    int
	aboveAlarm   int
	raised, seen uint64
}

// NewAlert returns an Alert in state ok.
func NewAlert(th Thresholds) (*Alert, error) {
	if err := th.Validate(); err != nil {
		return nil, fmt.Errorf("assets: thresholds: %w", err)
	}
	return &Alert{th: th, state: StateOK}, nil
}

// Step feeds the p_fail of one inferred window and returns the state after
// it and whether the state changed with it.
func (a *Alert) Step(p float64) (State, bool) {
	a.seen++
	if p >= a.th.Alarm {
		a.aboveAlarm++
	} else {
		a.aboveAlarm = 0
	}
	if p >= a.th.Warn {
		a.aboveWarn++
	} else {
		a.aboveWarn = 0
	}
	prev := a.state
	switch {
	case a.state != StateAlarm && a.aboveAlarm >= a.th.K:
		a.state = StateAlarm
		a.raised++
	case a.state == StateOK && a.aboveWarn >= a.th.K:
		a.state = StateWarn
	case a.state != StateOK && p < a.th.Warn:
		a.state = StateOK
	}
	return a.state, a.state != prev
}

// SetThresholds puts new levels in force without losing the state or the
// consecutive counts, for a config reload; invalid levels are refused and
// the old ones stay.
func (a *Alert) SetThresholds(th Thresholds) error {
	if err := th.Validate(); err != nil {
		return fmt.Errorf("assets: thresholds: %w", err)
	}
	a.th = th
	return nil
}

// State returns the current state.
func (a *Alert) State() State { return a.state }

// Raised returns how many alarms have been raised.
func (a *Alert) Raised() uint64 { return a.raised }

// Thresholds returns the levels in force.
func (a *Alert) Thresholds() Thresholds { return a.th }
