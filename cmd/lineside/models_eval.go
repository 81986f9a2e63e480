package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lineside/lineside/agent"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/inference/eval"
)

// newModelsEvalCmd is `lineside models eval`: a reference model measured on
// simulator data through the agent's own inference code.
func newModelsEvalCmd() *cobra.Command {
	var model, data, library, format string
	var threads int
	cmd := &cobra.Command{
		Use:   "eval --model FILE --data DIR",
		Short: "Measure a model on a dataset written by `lineside sim dataset`",
		Long: `Run a model through lineside's own inference code over a dataset written by
lineside sim dataset, and print its figures.

A defect dataset (kind defect) needs a defect_classification model: every
image goes through the Classifier as a camera frame would; printed are the
accuracy, each class's recall and the confusion matrix.

A pdm dataset written with --eval-span (kind pdm, or its eval/ folder) needs
a failure_prediction model: whole simulated lives go through the agent's
windowing, the model and the alert states of the model card; printed are the
share of failures warned at least 1 h ahead, the median lead time and the
false alarms per asset-week.

--format lines prints one "quality: NAME/FIGURE value=V unit=U" line per
figure; --format json the figures as JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" || data == "" {
				return usageError{fmt.Errorf("--model and --data are required")}
			}
			if format != "table" && format != "lines" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want table, lines or json", format)}
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			if err := inference.Init(inference.RuntimeConfig{Library: library, IntraThreads: threads}, log); err != nil {
				return fmt.Errorf("%w: %w", agent.ErrRuntime, err)
			}
			r, err := eval.Run(model, data)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "lines":
				name := strings.TrimSuffix(filepath.Base(model), filepath.Ext(model)) + "/" + filepath.Base(filepath.Clean(data))
				r.WriteLines(w, name)
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			default:
				r.WriteTable(w)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "ONNX model file")
	f.StringVar(&data, "data", "", "dataset directory written by `lineside sim dataset`")
	f.StringVar(&format, "format", "table", "output: table, lines or json")
	f.StringVar(&library, "library", "", "ONNX Runtime library (default: the usual search)")
	f.IntVar(&threads, "intra-threads", inference.DefaultIntraThreads, "intra-op threads")
	return cmd
}
