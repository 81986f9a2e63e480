package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/modbus"
)

func TestSimPLCServesModbus(t *testing.T) {
	addr := testutil.FreeAddr(t)
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"sim", "plc", "--modbus", addr, "--assets", "4", "--seed", "5", "--speed", "60", "--truth", truth})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim plc: %v", err)
		}
	}()

	var mu sync.Mutex
	got := map[string]float64{}
	u, _ := url.Parse("modbus://" + addr)
	src, err := modbus.New(u, sensors.Options{Name: "plc", Interval: 50 * time.Millisecond, Points: []sensors.PointConfig{
		{Name: "pump.speed", Address: "holding:206", Options: map[string]string{"type": "float32"}},
		{Name: "pump.ttf", Address: "holding:208", Options: map[string]string{"type": "float32"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = src.Run(sctx, func(s sensors.Sample) {
			mu.Lock()
			defer mu.Unlock()
			if s.Err == nil {
				got[s.Point] = s.Value
			}
		})
	}()
	err = testutil.WaitFor(10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	if err != nil {
		t.Fatalf("no values from the simulated PLC: %v", src.Health())
	}
	mu.Lock()
	defer mu.Unlock()
	if v := got["pump.speed"]; v < 1000 || v > 3000 {
		t.Errorf("pump speed %v rpm, want a running pump", v)
	}
	if v := got["pump.ttf"]; v < 3600 {
		t.Errorf("time to failure %v s, want a fresh machine", v)
	}
	if b, err := os.ReadFile(truth); err != nil || strings.Count(string(b), "\"failure\":") != 4 {
		t.Errorf("truth file: %v, %q; want one life per asset", err, b)
	}
	for _, want := range []string{"asset2   pump    speed              holding:206", "holding:311"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("register map lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSimPLCNeedsAnAddress(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"sim", "plc", "--assets", "2"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--modbus or --opcua") {
		t.Fatalf("error %v, want one asking for an address", err)
	}
}
