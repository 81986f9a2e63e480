package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/spf13/cobra"

	"github.com/lineside/lineside/sync/update"
)

// deviceModel is one model of one device, from its retained models/state.
type deviceModel struct {
	Device string `json:"device"` // site/line/device
	Model  string `json:"model"`
	// The fields of the device's report.
	Serving   string `json:"serving"`
	Previous  string `json:"previous,omitempty"`
	Staged    string `json:"staged,omitempty"`
	State     string `json:"state"`
	LastError string `json:"last_error,omitempty"`
}

// fleetState reads every retained {prefix}/+/+/+/models/state and, when name
// is set, the retained manifest of name; it waits wait for them to arrive.
func fleetState(b brokerFlags, name string, wait time.Duration) ([]deviceModel, *update.Manifest, error) {
	var mu sync.Mutex
	var rows []deviceModel
	var manifest *update.Manifest
	c, err := b.connect("list", func(c mqtt.Client) {
		c.Subscribe(b.prefix+"/+/+/+/models/state", 1, func(_ mqtt.Client, m mqtt.Message) {
			var p struct {
				Models map[string]deviceModel `json:"models"`
			}
			if json.Unmarshal(m.Payload(), &p) != nil {
				return
			}
			dev := strings.TrimSuffix(strings.TrimPrefix(m.Topic(), b.prefix+"/"), "/models/state")
			mu.Lock()
			defer mu.Unlock()
			for model, s := range p.Models {
				s.Device, s.Model = dev, model
				rows = append(rows, s)
			}
		})
		if name != "" {
			c.Subscribe(update.ManifestTopic(b.prefix, name), 1, func(_ mqtt.Client, m mqtt.Message) {
				if mf, err := update.ParseManifest(m.Payload()); err == nil {
					mu.Lock()
					manifest = mf
					mu.Unlock()
				}
			})
		}
	})
	if err != nil {
		return nil, nil, err
	}
	time.Sleep(wait) // retained messages arrive right after the subscription
	c.Disconnect(100)
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Device+"\x00"+rows[i].Model < rows[j].Device+"\x00"+rows[j].Model
	})
	return rows, manifest, nil
}

// newModelsListCmd is `lineside models list`.
func newModelsListCmd() *cobra.Command {
	var b brokerFlags
	var wait time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list --broker URL",
		Short: "Every device's serving, previous and staged model versions, from the retained models/state topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, _, err := fleetState(b, "", wait)
			if err != nil {
				return err
			}
			return printFleet(cmd.OutOrStdout(), rows, asJSON)
		},
	}
	b.register(cmd.Flags())
	cmd.Flags().DurationVar(&wait, "wait", time.Second, "how long to collect the retained states")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printFleet(w io.Writer, rows []deviceModel, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tMODEL\tSERVING\tPREVIOUS\tSTAGED\tSTATE\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Device, r.Model, r.Serving, dash(r.Previous), dash(r.Staged), r.State, dash(r.LastError))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newModelsClearCmd is `lineside models clear`.
func newModelsClearCmd() *cobra.Command {
	var b brokerFlags
	var name, version string
	var force bool
	cmd := &cobra.Command{
		Use:   "clear --broker URL --name N --version V",
		Short: "Remove the retained chunks of a version once every device that reports the model serves it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || version == "" {
				return usageError{fmt.Errorf("--name and --version are required")}
			}
			rows, m, err := fleetState(b, name, time.Second)
			if err != nil {
				return err
			}
			if m == nil || m.Version != version {
				return fmt.Errorf("the retained manifest of %s is not version %s; nothing to clear", name, version)
			}
			var behind []string
			for _, r := range rows {
				if r.Model == name && r.Serving != version {
					behind = append(behind, fmt.Sprintf("%s (serving %s, %s)", r.Device, r.Serving, r.State))
				}
			}
			if len(behind) > 0 && !force {
				return fmt.Errorf("%d device(s) do not serve %s %s yet: %s; use --force to clear anyway", len(behind), name, version, strings.Join(behind, ", "))
			}
			c, err := b.connect("clear", nil)
			if err != nil {
				return err
			}
			defer c.Disconnect(250)
			if err := update.Clear(c, b.prefix, name, version, m.Chunks); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cleared %d retained chunks of %s %s\n", m.Chunks, name, version)
			return nil
		},
	}
	f := cmd.Flags()
	b.register(f)
	f.StringVar(&name, "name", "", "model name")
	f.StringVar(&version, "version", "", "version whose chunks to remove")
	f.BoolVar(&force, "force", false, "clear even when some devices do not serve the version")
	return cmd
}
