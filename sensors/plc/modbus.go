package plc

import (
	"fmt"
	"io"
	"log"
	"math"

	mb "github.com/simonvetter/modbus"

	"github.com/lineside/lineside/sensors/sim"
)

// Register is one entry of the Modbus register map.
type Register struct {
	// Asset is the asset index.
	Asset int
	// Name is a feature name from sim.Features, or time_to_failure_s,
	// failed or life.
	Name string
	// Address is the first holding (and input) register.
	Address uint16
	// Type is float32 (two registers, high word first, big-endian) or
	// uint16.
	Type string
}

// RegisterMap lists every served register, asset by asset.
func (p *PLC) RegisterMap() []Register {
	var out []Register
	for i := range p.machines {
		base := uint16(i * BlockSize)
		for f, name := range sim.Features {
			out = append(out, Register{i, name, base + RegFeatures + uint16(2*f), "float32"})
		}
		out = append(out,
			Register{i, "time_to_failure_s", base + RegTimeToFailure, "float32"},
			Register{i, "failed", base + RegFailed, "uint16"},
			Register{i, "life", base + RegLife, "uint16"})
	}
	return out
}

// register returns the value of one holding register, or false if it is
// not served.
func (p *PLC) register(addr int) (uint16, bool) {
	i, off := addr/BlockSize, addr%BlockSize
	if i >= len(p.assets) || off >= regsUsed {
		return 0, false
	}
	a := p.assets[i]
	f32 := func(v float64, word int) uint16 {
		bits := math.Float32bits(float32(v))
		if word == 0 {
			return uint16(bits >> 16)
		}
		return uint16(bits)
	}
	switch {
	case off < RegTimeToFailure:
		return f32(a.values[off/2], off%2), true
	case off < RegFailed:
		return f32(a.ttf, off%2), true
	case off == RegFailed:
		if a.failed {
			return 1, true
		}
		return 0, true
	default:
		return uint16(a.life), true
	}
}

// handler serves the register map; writes are refused.
type handler struct{ p *PLC }

func (h handler) registers(addr, n uint16, write bool) ([]uint16, error) {
	if write {
		return nil, mb.ErrIllegalFunction
	}
	h.p.mu.RLock()
	defer h.p.mu.RUnlock()
	out := make([]uint16, n)
	for k := range out {
		v, ok := h.p.register(int(addr) + k)
		if !ok {
			return nil, mb.ErrIllegalDataAddress
		}
		out[k] = v
	}
	return out, nil
}

// bits serves coil/discrete input i as asset i's failed flag.
func (h handler) bits(addr, n uint16, write bool) ([]bool, error) {
	if write {
		return nil, mb.ErrIllegalFunction
	}
	h.p.mu.RLock()
	defer h.p.mu.RUnlock()
	if int(addr)+int(n) > len(h.p.assets) {
		return nil, mb.ErrIllegalDataAddress
	}
	out := make([]bool, n)
	for k := range out {
		out[k] = h.p.assets[int(addr)+k].failed
	}
	return out, nil
}

func (h handler) HandleCoils(r *mb.CoilsRequest) ([]bool, error) {
	return h.bits(r.Addr, r.Quantity, r.IsWrite)
}

func (h handler) HandleDiscreteInputs(r *mb.DiscreteInputsRequest) ([]bool, error) {
	return h.bits(r.Addr, r.Quantity, false)
}

func (h handler) HandleHoldingRegisters(r *mb.HoldingRegistersRequest) ([]uint16, error) {
	return h.registers(r.Addr, r.Quantity, r.IsWrite)
}

func (h handler) HandleInputRegisters(r *mb.InputRegistersRequest) ([]uint16, error) {
	return h.registers(r.Addr, r.Quantity, false)
}

// serveModbus starts the Modbus TCP server and returns its stop function.
func (p *PLC) serveModbus() (func(), error) {
	srv, err := mb.NewServer(&mb.ServerConfiguration{
		URL:        "tcp://" + p.cfg.Modbus,
		MaxClients: 32,
		Logger:     log.New(io.Discard, "", 0),
	}, handler{p})
	if err != nil {
		return nil, fmt.Errorf("plc: modbus server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("plc: modbus listen %s: %w", p.cfg.Modbus, err)
	}
	p.log.Info("modbus server listening", "addr", p.cfg.Modbus)
	return func() { _ = srv.Stop() }, nil
}
