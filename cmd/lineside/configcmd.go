package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lineside/lineside/agent"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the config file"}
	var path string
	check := &cobra.Command{
		Use:   "check",
		Short: "Check a config file: print every error, or ok",
		Long: "Check a config file: every key and value, environment overrides included, and\n" +
			"that the files it names (models, TLS, password, ONNX Runtime) exist.\n" +
			"Prints each problem on its own line, or ok.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			cfg, err := agent.LoadConfig(path)
			var cfgErr *agent.ConfigError
			switch {
			case errors.As(err, &cfgErr):
				for _, fe := range cfgErr.Errors {
					fmt.Fprintln(out, fe.Error())
				}
				return configInvalid{path, len(cfgErr.Errors)}
			case err != nil:
				return err
			}
			if errs := cfg.CheckFiles(); len(errs) > 0 {
				for _, fe := range errs {
					fmt.Fprintln(out, fe.Error())
				}
				return configInvalid{path, len(errs)}
			}
			fmt.Fprintln(out, "ok")
			return nil
		},
	}
	check.Flags().StringVarP(&path, "config", "c", "/etc/lineside/lineside.yaml", "config file")
	cmd.AddCommand(check)
	return cmd
}

// configInvalid ends `config check` with the config exit code after the
// problems were printed one per line.
type configInvalid struct {
	path string
	n    int
}

func (e configInvalid) Error() string { return fmt.Sprintf("%s: %d error(s)", e.path, e.n) }
