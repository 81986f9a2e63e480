package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lineside/lineside/agent/dashboard"
)

func newDashboardCmd() *cobra.Command {
	var cfg dashboard.Config
	var listen, passwordFile string
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a live fleet dashboard in the browser, fed from MQTT",
		Long: `dashboard subscribes to every device under the topic prefix on the broker and
serves a page that follows them live: online/offline, fps, latency, outbox depth,
drops and runway with time plots, the latest defects with their snapshots, asset
health with the p_fail trend, and model versions and update states.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passwordFile != "" {
				b, err := os.ReadFile(passwordFile)
				if err != nil {
					return fmt.Errorf("password file: %w", err)
				}
				cfg.Password = firstLine(b)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			fmt.Fprintf(cmd.OutOrStdout(), "dashboard: http://%s/ (broker %s, prefix %s)\n", ln.Addr(), cfg.Broker, cfg.Prefix)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return dashboard.New(cfg, log).Run(ctx, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve the page on")
	f.StringVar(&cfg.Prefix, "prefix", "lineside/v1", "topic prefix of the fleet")
	f.StringVar(&cfg.Username, "username", "", "MQTT user name")
	f.StringVar(&passwordFile, "password-file", "", "file holding the MQTT password")
	return cmd
}

// firstLine returns b up to its first line break.
func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return string(b[:i])
		}
	}
	return string(b)
}
