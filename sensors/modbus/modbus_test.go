package modbus

import (
	"context"
	"errors"
	"io"
	"log"
	"math"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srctest"
	"github.com/lineside/lineside/sensors/plc"
	"github.com/lineside/lineside/sensors/sim"
)

// startPLC serves a simulated PLC whose values stay put during the test
// (one update per simulated hour at real-time speed).
func startPLC(t *testing.T, addr string, start time.Time) (p *plc.PLC, stop func()) {
	t.Helper()
	p, err := plc.New(plc.Config{Assets: 3, Seed: 7, Speed: 1, Period: time.Hour, Start: start, Modbus: addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	srctest.Wait(t, 5*time.Second, "plc listening", func() bool { return dialable(addr) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("plc: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

func dialable(addr string) bool {
	c, err := mb.NewClient(&mb.ClientConfiguration{URL: "tcp://" + addr, Logger: log.New(io.Discard, "", 0)})
	if err != nil || c.Open() != nil {
		return false
	}
	c.Close()
	return true
}

func plcPoints() []sensors.PointConfig {
	var points []sensors.PointConfig
	for i := range 3 {
		for f, name := range sim.Features {
			points = append(points, pt("a"+strconv.Itoa(i)+"."+name,
				"holding:"+strconv.Itoa(i*plc.BlockSize+plc.RegFeatures+2*f), "type", "float32"))
		}
	}
	return append(points, pt("a1.failed", "discrete:1"), pt("a2.life", "input:"+strconv.Itoa(2*plc.BlockSize+plc.RegLife)))
}

func TestPLCValuesAndReconnect(t *testing.T) {
	addr := testutil.FreeAddr(t)
	start := time.Now()
	p, stop := startPLC(t, addr, start)
	rec := &srctest.Recorder{}
	u, _ := url.Parse("modbus://" + addr + "?unit=3")
	src, err := New(u, sensors.Options{Name: "plc1", Points: plcPoints(), Interval: 50 * time.Millisecond,
		Timeout: 500 * time.Millisecond, OnState: rec.OnState})
	if err != nil {
		t.Fatal(err)
	}
	srctest.Start(t, src, rec)
	srctest.Wait(t, 5*time.Second, "first samples", func() bool { return len(rec.Good("a2.speed")) >= 3 })

	for i := range 3 {
		vals, _, _ := p.Asset(i)
		for f, name := range sim.Features {
			got := rec.Good("a" + strconv.Itoa(i) + "." + name)
			if len(got) == 0 {
				t.Fatalf("no good sample of asset %d %s", i, name)
			}
			if want := float64(float32(vals[f])); got[0].Value != want {
				t.Errorf("asset %d %s = %v, want %v", i, name, got[0].Value, want)
			}
		}
	}
	if got := rec.Good("a1.failed"); len(got) == 0 || got[0].Value != 0 {
		t.Errorf("a1.failed samples %v, want 0", got)
	}
	if got := rec.Good("a2.life"); len(got) == 0 || got[0].Value != 0 {
		t.Errorf("a2.life samples %v, want 0", got)
	}

	// Kill the PLC: the source must notice, back off and come back when a
	// new PLC listens on the same port.
	stop()
	killed := time.Now()
	srctest.Wait(t, 5*time.Second, "reconnecting", func() bool { return src.Health().State == sensors.StateReconnecting })
	before := len(rec.Good("a0.vibration_rms"))
	time.Sleep(700 * time.Millisecond)
	if n := len(rec.Good("a0.vibration_rms")); n != before {
		t.Fatalf("%d samples while the PLC was down", n-before)
	}
	restarted := time.Now()
	startPLC(t, addr, start)
	srctest.Wait(t, 10*time.Second, "reconnect", func() bool {
		h := src.Health()
		return h.State == sensors.StateConnected && h.Reconnects == 1
	})
	srctest.Wait(t, 5*time.Second, "samples after reconnect", func() bool {
		g := rec.Good("a0.vibration_rms")
		return len(g) > 0 && g[len(g)-1].Time.After(restarted)
	})
	good := rec.Good("a0.vibration_rms")
	var gap time.Duration
	for k := 1; k < len(good); k++ {
		gap = max(gap, good[k].Time.Sub(good[k-1].Time))
	}
	if gap < restarted.Sub(killed) {
		t.Errorf("largest gap between samples %v, want at least the outage %v", gap, restarted.Sub(killed))
	}
	states := rec.States()
	want := []string{sensors.StateConnected, sensors.StateReconnecting, sensors.StateConnected}
	if !containsInOrder(states, want) {
		t.Errorf("states %v, want %v in order", states, want)
	}
	if h := src.Health(); h.ReadErrors != 0 || h.Reads == 0 {
		t.Errorf("health %+v: want reads and no read errors", h)
	}
}

func containsInOrder(have, want []string) bool {
	i := 0
	for _, s := range have {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// regs is a Modbus server with fixed holding registers 0–99.
type regs struct{ h [100]uint16 }

func (r *regs) HandleCoils(*mb.CoilsRequest) ([]bool, error) { return nil, mb.ErrIllegalFunction }
func (r *regs) HandleDiscreteInputs(*mb.DiscreteInputsRequest) ([]bool, error) {
	return nil, mb.ErrIllegalFunction
}
func (r *regs) HandleInputRegisters(*mb.InputRegistersRequest) ([]uint16, error) {
	return nil, mb.ErrIllegalDataAddress
}
func (r *regs) HandleHoldingRegisters(q *mb.HoldingRegistersRequest) ([]uint16, error) {
	if int(q.Addr)+int(q.Quantity) > len(r.h) {
		return nil, mb.ErrIllegalDataAddress
	}
	return append([]uint16(nil), r.h[q.Addr:q.Addr+q.Quantity]...), nil
}

func TestBadValuesFlagged(t *testing.T) {
	r := &regs{}
	copy(r.h[0:], Format{Type: Float32}.Encode(math.NaN()))
	copy(r.h[2:], Format{Type: Float32}.Encode(math.Inf(-1)))
	copy(r.h[4:], Format{Type: Int16}.Encode(-40))
	copy(r.h[5:], Format{Type: Uint32, WordOrder: LowFirst}.Encode(70000))
	addr := testutil.FreeAddr(t)
	srv, err := mb.NewServer(&mb.ServerConfiguration{URL: "tcp://" + addr, MaxClients: 4,
		Logger: log.New(io.Discard, "", 0)}, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })

	rec := &srctest.Recorder{}
	u, _ := url.Parse("modbus://" + addr)
	src, err := New(u, sensors.Options{Name: "plc1", Interval: 30 * time.Millisecond, Points: []sensors.PointConfig{
		pt("nan", "holding:0", "type", "float32"),
		pt("inf", "holding:2", "type", "float32"),
		pt("cold", "holding:4", "type", "int16", "scale", "0.5", "offset", "1", "min", "-10"),
		pt("count", "holding:5", "type", "uint32", "word_order", "low_first", "max", "100000"),
		pt("missing", "holding:500"),
		pt("noinput", "input:3"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	srctest.Start(t, src, rec)
	srctest.Wait(t, 5*time.Second, "samples", func() bool { return len(rec.Samples("noinput")) >= 5 })

	for _, c := range []struct {
		point string
		want  error
	}{
		{"nan", sensors.ErrNotFinite}, {"inf", sensors.ErrNotFinite}, {"cold", sensors.ErrOutOfRange},
		{"missing", sensors.ErrNoSuchPoint}, {"noinput", sensors.ErrNoSuchPoint},
	} {
		all, bad := rec.Samples(c.point), rec.Bad(c.point, c.want)
		if len(all) == 0 || len(bad) != len(all) {
			t.Errorf("%s: %d of %d samples flagged %v; first: %v", c.point, len(bad), len(all), c.want, all)
		}
	}
	if got := rec.Good("count"); len(got) == 0 || got[0].Value != 70000 {
		t.Errorf("count samples %v, want 70000", got)
	}
	h := src.Health()
	if h.State != sensors.StateConnected || h.ReadErrors < 5*4 || h.Reads == 0 {
		t.Errorf("health %+v: want connected with read errors counted", h)
	}
	var e error = rec.Samples("missing")[0].Err
	if !errors.Is(e, mb.ErrIllegalDataAddress) {
		t.Errorf("missing: error %v does not wrap the Modbus exception", e)
	}
}
