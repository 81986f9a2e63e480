package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/lineside/lineside/agent"
	"github.com/lineside/lineside/inference"
)

// newModelsInspectCmd is `lineside models inspect FILE`.
func newModelsInspectCmd() *cobra.Command {
	var library string
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a model's inputs, outputs, task and lineside metadata, and what is missing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			if err := inference.Init(inference.RuntimeConfig{Library: library}, log); err != nil {
				return fmt.Errorf("%w: %w", agent.ErrRuntime, err)
			}
			ok, err := inspectModel(cmd.OutOrStdout(), args[0])
			if err != nil {
				return fmt.Errorf("%w: %w", agent.ErrModel, err)
			}
			if !ok {
				return fmt.Errorf("%w: %s does not fit the lineside model contract (see above)", agent.ErrModel, args[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&library, "library", "", "ONNX Runtime library (default: the usual search)")
	return cmd
}

// inspectModel prints the report for path and whether the model is usable
// as it is.
func inspectModel(w io.Writer, path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return false, fmt.Errorf("%s: not a model ONNX Runtime can load: %w", path, err)
	}
	md, err := inference.ReadMetadata(path)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "file     %s (%d bytes)\n", path, st.Size())
	for _, io := range ins {
		fmt.Fprintf(w, "input    %s %s %v\n", io.Name, io.DataType, io.Dimensions)
	}
	for _, io := range outs {
		fmt.Fprintf(w, "output   %s %s %v\n", io.Name, io.DataType, io.Dimensions)
	}
	fmt.Fprintf(w, "task     %s\nversion  %s\n", orNone(md.Task), orNone(md.Version))
	props := md.Props()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "metadata %s=%s\n", k, props[k])
	}
	for k, v := range md.Extra {
		fmt.Fprintf(w, "unknown  %s%s=%s (ignored by this version)\n", inference.KeyPrefix, k, v)
	}
	ok := true
	if err := md.Validate(); err != nil {
		ok = false
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(w, "missing  %s\n", line)
		}
	}
	if ok && md.Task == inference.TaskDefectClassification {
		c, err := inference.LoadClassifier(path, inference.ClassifierOptions{})
		if err == nil {
			err = inference.Smoke(c)
			c.Close()
		}
		if err != nil {
			ok = false
			fmt.Fprintf(w, "problem  %v\n", err)
		}
	}
	if ok {
		fmt.Fprintln(w, "ok       fits the lineside model contract")
	}
	return ok, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
