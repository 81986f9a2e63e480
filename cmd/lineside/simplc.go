package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lineside/lineside/sensors/plc"
	"github.com/lineside/lineside/sensors/sim"
)

// newSimCmd is the parent of the simulator commands (`sim plc`; other
// simulator subcommands attach here).
func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulated machines and camera for tests, demos and training data",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newSimPLCCmd(), newSimDatasetCmd())
	return cmd
}

func newSimPLCCmd() *cobra.Command {
	var (
		cfg              plc.Config
		period           time.Duration
		truth, cert, key string
		start            string
	)
	cmd := &cobra.Command{
		Use:   "plc",
		Short: "Serve simulated machines over Modbus TCP and OPC UA",
		Long: `Serve N simulated machines (kinds cycling motor, bearing, pump) the way a
line PLC would, until interrupted.

Modbus TCP: asset i's holding registers start at 100*i (input registers mirror
them): vibration_rms, temperature, current, speed as float32 (two registers,
high word first, big-endian) at +0, +2, +4, +6; seconds to failure (float32)
at +8; failed (uint16) at +10; life index (uint16) at +11. Coil/discrete input
i is asset i's failed flag.

OPC UA: nodes ns=2;s=asset<i>.<feature>, asset<i>.time_to_failure_s and
asset<i>.failed (Double, source timestamps).

The seconds to failure, the failed flag and --truth (one JSON line per asset
life with its start, degradation onset, failure and repair times) are
simulator ground truth: a test and demo aid, not something a PLC knows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Modbus == "" && cfg.OPCUA == "" {
				return usageError{fmt.Errorf("--modbus or --opcua: at least one is needed")}
			}
			cfg.Period = period
			if start != "" {
				t, err := time.Parse(time.RFC3339Nano, start)
				if err != nil {
					return usageError{fmt.Errorf("--start %q: want an RFC 3339 time: %w", start, err)}
				}
				cfg.Start = t
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			if (cert == "") != (key == "") {
				return usageError{fmt.Errorf("--opcua-cert and --opcua-key go together")}
			}
			if cert != "" {
				kp, err := tls.LoadX509KeyPair(cert, key)
				if err != nil {
					return fmt.Errorf("opcua certificate: %w", err)
				}
				rk, ok := kp.PrivateKey.(*rsa.PrivateKey)
				if !ok {
					return fmt.Errorf("opcua key %s: not an RSA key", key)
				}
				cfg.Key = rk
				cfg.Certificate = kp.Certificate[0]
			}
			if truth != "" {
				f, err := os.Create(truth)
				if err != nil {
					return fmt.Errorf("truth file: %w", err)
				}
				defer f.Close()
				cfg.Truth = f
			}
			p, err := plc.New(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runPLC(ctx, p, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Modbus, "modbus", "", "Modbus TCP listen address, e.g. 127.0.0.1:5020")
	f.StringVar(&cfg.OPCUA, "opcua", "", "OPC UA listen address, e.g. 127.0.0.1:4840")
	f.IntVar(&cfg.Assets, "assets", 3, fmt.Sprintf("number of machines (1-%d)", plc.MaxAssets))
	f.Int64Var(&cfg.Seed, "seed", 1, "simulator seed")
	f.Float64Var(&cfg.Speed, "speed", sim.DefaultSpeed, "simulated seconds per wall-clock second")
	f.DurationVar(&period, "period", sim.DefaultPeriod, "simulated time between value updates")
	f.StringVar(&start, "start", "", "wall-clock time (RFC 3339) of simulated time zero; default now. A restart with the same --start, --seed and --speed serves the same machines at the same instants")
	f.StringVar(&truth, "truth", "", "write the failure times (JSON lines) to this file")
	f.StringVar(&cert, "opcua-cert", "", "server certificate (PEM) to advertise a Basic256Sha256 endpoint")
	f.StringVar(&key, "opcua-key", "", "RSA private key (PEM) of --opcua-cert")
	return cmd
}

// runPLC prints the register map and node ids, then serves until ctx ends.
func runPLC(ctx context.Context, p *plc.PLC, out io.Writer) error {
	p.PrintMap(out)
	return p.Run(ctx)
}
