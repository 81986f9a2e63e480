package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors/plc"
	"github.com/lineside/lineside/sensors/sim"
)

// The scenario: seed 16's machines 0–3 fail 6.0, 8.8, 14.9 and 22.1 hours
// (simulated) after the test starts, which at 1200× is 18 to 66 seconds of
// wall time. Machines 0–2 are served by `lineside sim plc` (0 and 2 over
// Modbus, 1 over OPC UA); the test publishes machine 3 on a plant MQTT topic.
// The simulator is killed 10 h in and restarted a few seconds later.
const (
	pdmSeed  = 16
	pdmSpeed = 1200.0
	pdmLead  = 6 * time.Hour  // simulated time from the test's start to the first failure
	pdmKill  = 10 * time.Hour // simulated time from the test's start to the kill
	pdmSpan  = 23 * time.Hour // simulated time the run lasts
	pdmDown  = 3 * time.Second
)

func TestPredictiveMaintenanceAgainstSimulatedPLCAndPlantBroker(t *testing.T) {
	machines := make([]*sim.Machine, 4)
	for i := range machines {
		m, err := sim.NewMachine(sim.AssetKind(i), pdmSeed, i, sim.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		machines[i] = m
	}
	t0 := machines[0].LifeAt(85*time.Hour).Failure - pdmLead // simulated time at the test's start
	clock := sim.Clock{Start: time.Now().Add(-time.Duration(float64(t0) / pdmSpeed)), Speed: pdmSpeed}
	wallAt := func(d time.Duration) time.Time { return clock.Start.Add(clock.Wall(t0 + d)) }
	simHours := func(d time.Duration) float64 { return (time.Duration(float64(d) * pdmSpeed)).Hours() }

	broker := testutil.StartBroker(t)
	dir := t.TempDir()
	mbAddr, uaAddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	truth := []string{filepath.Join(dir, "truth1.jsonl"), filepath.Join(dir, "truth2.jsonl")}
	plcArgs := func(truth string) []string {
		return []string{"--modbus", mbAddr, "--opcua", uaAddr, "--assets", "3", "--seed", fmt.Sprint(pdmSeed),
			"--speed", fmt.Sprint(pdmSpeed), "--start", clock.Start.Format(time.RFC3339Nano), "--truth", truth}
	}
	p := startSimPLC(t, plcArgs(truth[0])...)
	base := "lineside/v1/s1/l1/dev1"
	w := watchPDM(t, broker.URL(), base)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go publishMachine(ctx, t, broker.URL(), "plant/a3", machines[3], sim.Clock{Start: clock.Start, Speed: pdmSpeed}, sim.DefaultPeriod)
	d := startDaemon(t, pdmConfig(t, dir, broker.URL(), mbAddr, uaAddr, pdmSpeed))
	plcSources := []string{"plc_modbus", "plc_opcua"}
	w.waitStatus(t, 30*time.Second, append(plcSources, "plant_mqtt"), "connected")

	time.Sleep(time.Until(wallAt(pdmKill))) // the scenario's clock, not a synchronisation
	p.kill()
	killed := time.Now()
	w.waitStatus(t, 15*time.Second, plcSources, "reconnecting", "failed")
	time.Sleep(pdmDown) // the outage itself
	startSimPLC(t, plcArgs(truth[1])...)
	w.waitStatus(t, 30*time.Second, plcSources, "connected")
	back := time.Now()
	t.Logf("simulator down %v (%.1f h simulated)", back.Sub(killed).Round(time.Millisecond), simHours(back.Sub(killed)))

	end := wallAt(pdmSpan)
	time.Sleep(time.Until(end))
	if err := testutil.WaitFor(20*time.Second, func() bool {
		last := map[string]time.Time{}
		for _, e := range w.Events() {
			last[e.Asset] = e.TS
		}
		return len(last) == 4 && !last["a0"].Before(end.Add(-10*time.Second)) && !last["a1"].Before(end.Add(-10*time.Second))
	}); err != nil {
		t.Fatalf("health events did not catch up with the end of the run: %v", err)
	}
	select {
	case <-d.done:
		t.Fatalf("daemon exited during the run: %v", d.err)
	default:
	}
	counters := w.Counters()
	if code := d.stop(); code != 0 {
		t.Fatalf("daemon exit code %d", code)
	}

	lives := readTruth(t, truth...)
	for _, l := range simLives(machines[3], t0+pdmSpan) {
		lives = append(lives, plc.TruthLine{Asset: 3, Life: l.Index,
			Start: clock.Start.Add(clock.Wall(l.Start)), Failure: clock.Start.Add(clock.Wall(l.Failure))})
	}
	checkPDMAlarms(t, w.Events(), lives, killed, back, simHours)
	checkPDMGap(t, w.Events(), killed, back, simHours)
	checkPDMCounters(t, counters)
}

// checkPDMAlarms checks that an alarm was raised before every failure the
// agent could have seen coming: one that happened at least 1.5 h
// (simulated) after the asset's first inferred window, out of the
// simulator's outage; and that at least 80 % were alarmed 1 h ahead.
func checkPDMAlarms(t *testing.T, events []pdmEvent, lives []plc.TruthLine, down, up time.Time, simHours func(time.Duration) float64) {
	t.Helper()
	byAsset := map[string][]pdmEvent{}
	for _, e := range events {
		byAsset[e.Asset] = append(byAsset[e.Asset], e)
	}
	sort.Slice(lives, func(i, j int) bool { return lives[i].Failure.Before(lives[j].Failure) })
	eligible, ahead := 0, 0
	for _, l := range lives {
		name := fmt.Sprintf("a%d", l.Asset)
		evs := byAsset[name]
		sort.Slice(evs, func(i, j int) bool { return evs[i].TS.Before(evs[j].TS) })
		var first time.Time
		for _, e := range evs {
			if e.PFail != nil {
				first = e.TS
				break
			}
		}
		gap := l.Asset < 3 && l.Failure.After(down) && simHours(l.Failure.Sub(up)) < 1.5
		if first.IsZero() || simHours(l.Failure.Sub(first)) < 1.5 || gap || l.Failure.After(evs[len(evs)-1].TS) {
			continue
		}
		eligible++
		// The alarm run that lasts until the failure: it entered at the
		// first alarm after the last inferred window that was not alarm.
		var entered time.Time
		for _, e := range evs {
			if e.TS.Before(l.Start) || !e.TS.Before(l.Failure) || e.PFail == nil {
				continue
			}
			if e.State != "alarm" {
				entered = time.Time{}
			} else if entered.IsZero() {
				entered = e.TS
			}
		}
		if entered.IsZero() {
			t.Errorf("%s life %d failed at %v with no alarm in force", name, l.Life, l.Failure.Format(time.TimeOnly))
			continue
		}
		lead := simHours(l.Failure.Sub(entered))
		t.Logf("%s life %d: alarm raised %.1f h (simulated) before the failure", name, l.Life, lead)
		if lead >= 1 {
			ahead++
		}
	}
	if eligible < 3 {
		t.Fatalf("only %d failures the agent could see coming; the scenario plans 4", eligible)
	}
	if float64(ahead) < 0.8*float64(eligible) {
		t.Errorf("%d of %d failures alarmed at least 1 h ahead; want at least 80 %%", ahead, eligible)
	}
}

// checkPDMGap checks that the outage shows as insufficient data on every
// asset read from the simulator, and that windows and alarms came back.
func checkPDMGap(t *testing.T, events []pdmEvent, down, up time.Time, simHours func(time.Duration) float64) {
	t.Helper()
	flagged, inferredAfter := map[string]bool{}, map[string]bool{}
	alarmAfter := false
	for _, e := range events {
		plcAsset := e.Asset != "a3"
		switch {
		case e.State == "insufficient_data" && !e.TS.Before(down.Add(-time.Second)) && !e.TS.After(up.Add(5*time.Second)):
			if len(e.Missing) != len(sim.Features) {
				t.Errorf("insufficient data event %+v: want every feature missing", e)
			}
			flagged[e.Asset] = true
		case e.PFail != nil && e.TS.After(up) && plcAsset:
			inferredAfter[e.Asset] = true
			alarmAfter = alarmAfter || e.State == "alarm"
		}
	}
	for _, a := range []string{"a0", "a1", "a2"} {
		if !flagged[a] {
			t.Errorf("asset %s: no insufficient_data event for the outage from %v", a, down.Format(time.TimeOnly))
		}
		if !inferredAfter[a] {
			t.Errorf("asset %s: no window inferred after the simulator came back", a)
		}
	}
	if !alarmAfter {
		t.Error("no alarm on an asset of the simulator after it came back")
	}
}

// checkPDMCounters checks the sensors figures of {base}/metrics.
func checkPDMCounters(t *testing.T, raw json.RawMessage) {
	t.Helper()
	var m struct {
		Sources map[string]struct {
			Reads      uint64 `json:"reads"`
			ReadErrors uint64 `json:"read_errors"`
			Reconnects uint64 `json:"reconnects"`
		} `json:"sources"`
		Assets map[string]struct {
			Inferred     uint64 `json:"windows_inferred"`
			Insufficient uint64 `json:"windows_insufficient_data"`
		} `json:"assets"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("metrics sensors %s: %v", raw, err)
	}
	t.Logf("metrics sensors: %s", raw)
	for _, s := range []string{"plc_modbus", "plc_opcua"} {
		if c := m.Sources[s]; c.Reads == 0 || c.Reconnects == 0 {
			t.Errorf("source %s counters %+v: want reads and a reconnect", s, c)
		}
	}
	if a := m.Assets["a1"]; a.Inferred == 0 || a.Insufficient == 0 {
		t.Errorf("asset a1 counters %+v: want inferred and insufficient-data windows", a)
	}
}
