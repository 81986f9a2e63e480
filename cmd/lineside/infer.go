package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gocv.io/x/gocv"

	"github.com/lineside/lineside/agent"
	"github.com/lineside/lineside/inference"
)

// newInferCmd is `lineside infer`: one classification of one image file,
// outside the daemon. It proves a line PC's (or an emulated arm64 build's)
// ONNX Runtime, OpenCV and model work together, and shows which execution
// provider serves the model. Hidden: a diagnostic, not part of the CLI
// contract.
func newInferCmd() *cobra.Command {
	var model, image, library string
	var providers []string
	var threads int
	cmd := &cobra.Command{
		Use:    "infer --model FILE --image FILE",
		Short:  "Classify one image with a defect model and print the label and scores",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" || image == "" {
				return usageError{fmt.Errorf("--model and --image are required")}
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			if err := inference.Init(inference.RuntimeConfig{
				Library: library, IntraThreads: threads, Providers: providers,
			}, log); err != nil {
				return fmt.Errorf("%w: %w", agent.ErrRuntime, err)
			}
			clf, err := inference.LoadClassifier(model, inference.ClassifierOptions{})
			if err != nil {
				return fmt.Errorf("%w: %w", agent.ErrModel, err)
			}
			defer clf.Close()
			img := gocv.IMRead(image, gocv.IMReadColor)
			defer img.Close()
			if img.Empty() {
				return fmt.Errorf("%s: not an image OpenCV can read", image)
			}
			start := time.Now()
			res, err := clf.Classify(img)
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			scores := make([]string, len(res.Scores))
			for i, l := range clf.Labels() {
				scores[i] = fmt.Sprintf("%s=%.4f", l, res.Scores[i])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "label=%s score=%.4f scores=%s provider=%s onnxruntime=%s latency_ms=%.3f\n",
				res.Label, res.Score, strings.Join(scores, ","), clf.Provider(), inference.RuntimeVersion(),
				float64(elapsed.Microseconds())/1000)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "ONNX defect-classification model")
	f.StringVar(&image, "image", "", "image file (PNG, JPEG, ...)")
	f.StringVar(&library, "library", "", "ONNX Runtime library (default: the usual search)")
	f.StringSliceVar(&providers, "providers", []string{inference.ProviderCPU}, "execution providers to try, in order")
	f.IntVar(&threads, "intra-threads", inference.DefaultIntraThreads, "intra-op threads")
	return cmd
}
