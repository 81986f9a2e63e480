package plc

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/lineside/lineside/sensors/sim"
)

// TruthLine is one JSON line of the ground-truth output: when one life of
// one asset starts, degrades and fails, in wall-clock time. It is a test and
// demo aid for checking failure predictions, not something a PLC serves.
type TruthLine struct {
	// Asset is the asset index and Kind its kind (motor, bearing, pump).
	Asset int    `json:"asset"`
	Kind  string `json:"kind"`
	// Life counts the asset's lives from 0.
	Life int `json:"life"`
	// Start, Onset, Failure and Repaired are the wall-clock instants the
	// life begins, starts to degrade, fails and is repaired.
	Start    time.Time `json:"start"`
	Onset    time.Time `json:"onset"`
	Failure  time.Time `json:"failure"`
	Repaired time.Time `json:"repaired"`
	// FailureS is the failure instant in simulated seconds since start.
	FailureS float64 `json:"failure_sim_s"`
	// Simulated is always true: the line is ground truth from a simulator.
	Simulated bool `json:"simulated"`
}

// writeTruth writes life l of asset i to cfg.Truth; p.mu is held.
func (p *PLC) writeTruth(i int, l sim.Life) {
	m := p.machines[i]
	wall := func(d time.Duration) time.Time { return p.clock.Start.Add(p.clock.Wall(d)) }
	line := TruthLine{
		Asset: i, Kind: m.Kind(), Life: l.Index,
		Start: wall(l.Start), Onset: wall(l.Onset), Failure: wall(l.Failure),
		Repaired: wall(l.Failure + m.Options().RepairTime),
		FailureS: l.Failure.Seconds(), Simulated: true,
	}
	b, _ := json.Marshal(line)
	if _, err := p.cfg.Truth.Write(append(b, '\n')); err != nil {
		p.log.Warn("truth output failed", "error", err)
		p.cfg.Truth = nil
	}
}

// PrintMap writes the register map and node ids in a readable table.
func (p *PLC) PrintMap(w io.Writer) {
	if p.cfg.Modbus != "" {
		fmt.Fprintf(w, "Modbus TCP %s, unit any; holding registers (input registers mirror them):\n", p.cfg.Modbus)
		for _, r := range p.RegisterMap() {
			fmt.Fprintf(w, "  asset%-3d %-7s %-18s holding:%-5d %s\n", r.Asset, sim.AssetKind(r.Asset), r.Name, r.Address, r.Type)
		}
		fmt.Fprintf(w, "  coil/discrete i = asset i failed\n")
	}
	if p.cfg.OPCUA != "" {
		fmt.Fprintf(w, "OPC UA opc.tcp://%s nodes (Double, source timestamps):\n", p.cfg.OPCUA)
		for _, n := range p.NodeIDs() {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	fmt.Fprintf(w, "time_to_failure_s and failed are simulator ground truth, a test and demo aid.\n")
}
