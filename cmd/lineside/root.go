package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "lineside",
		Short:         "Edge agent for the shop floor: cameras and sensors in, ONNX models, MQTT out",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newInferCmd()) // hidden diagnostic
	root.AddCommand(newRunCmd(), newConfigCmd(), newVersionCmd(), newWatchCmd())
	root.AddCommand(newDashboardCmd())
	root.AddCommand(newModelsCmd())
	root.AddCommand(newSimCmd())
	return root
}
