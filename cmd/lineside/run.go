package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lineside/lineside/agent"
)

func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent (the systemd service runs this)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := agent.LoadConfig(path)
			if err != nil {
				return err
			}
			log := agent.NewLogger(cfg.Log, os.Stderr)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a := agent.New(cfg, log)
			a.SetConfigFile(path)
			// SIGHUP reloads the config like the reload command; Reload
			// logs what it applied or why it refused the file.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					a.Reload()
				}
			}()
			return a.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/lineside/lineside.yaml", "config file")
	return cmd
}
