package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lineside/lineside/camera/synthetic"
	"github.com/lineside/lineside/sensors/sim"
)

// Dataset kinds of `lineside sim dataset`, as written in meta.json.
const (
	kindDefect = "defect"
	kindPdm    = "pdm"
)

// datasetKinds lists the kinds `sim dataset --kind` accepts.
var datasetKinds = []string{kindDefect, kindPdm}

// Flags of `sim dataset` that only one kind takes; giving one to the other
// kind is an error rather than silently ignored.
var (
	defectOnlyFlags = []string{"lighting", "blur", "ok-share", "width", "height", "workers"}
	pdmOnlyFlags    = []string{"regime-mix", "dropout", "assets", "window", "period", "horizon", "max-gap",
		"near-failure", "per-life", "eval-span", "stride", "min-life", "max-life", "repair", "regime-every"}
)

// newSimDatasetCmd is `lineside sim dataset`: the training and evaluation
// data of the reference models, from the same simulators the demo runs.
func newSimDatasetCmd() *cobra.Command {
	var (
		kind, out string
		seed      uint64
		d         = synthetic.DefaultDatasetOptions()
		p         = sim.DefaultDatasetOptions(d.N, 1)
	)
	cmd := &cobra.Command{
		Use:   "dataset --kind defect|pdm --out DIR [--n N] [--seed S] [shift options]",
		Short: "Write training or evaluation data (numpy .npy files and meta.json) from the line simulator",
		Long: `Write a dataset numpy reads, from the simulators behind the demo.

--kind defect renders conveyor frames (camera/synthetic) reduced to the
defect model's input: images.npy (uint8 N×64×64 gray), labels.npy (int64 N,
class indices ok, scratch, spot, crack) and meta.json. Shift options:
--lighting, --noise, --blur; --ok-share sets the class balance.

--kind pdm runs machines to failure (sensors/sim): windows.npy (float32
N×window×4), targets.npy, ttf.npy, asset.npy, life.npy and meta.json; with
--eval-span also eval/, the whole lives the failure-prediction evaluation
replays. Shift options: --noise, --regime-mix, --dropout.

The same options and seed always write the same files. Options of the other
kind are refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out is required")}
			}
			if !slices.Contains(datasetKinds, kind) {
				return usageError{fmt.Errorf("--kind %q: unknown dataset kind (known: %s)", kind, strings.Join(datasetKinds, ", "))}
			}
			if err := refuseOtherKind(cmd.Flags(), kind); err != nil {
				return usageError{err}
			}
			start := time.Now()
			switch kind {
			case kindDefect:
				d.Seed = seed
				if err := synthetic.WriteDefectDataset(out, d); err != nil {
					return err
				}
			case kindPdm:
				if seed > math.MaxInt64 {
					return usageError{fmt.Errorf("--seed %d: must be at most %d for pdm", seed, int64(math.MaxInt64))}
				}
				p.N, p.Seed = d.N, int64(seed)
				p.Noise = d.Noise
				if err := sim.WritePdmDataset(out, p); err != nil {
					return err
				}
			}
			return printDataset(cmd, out, time.Since(start))
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "dataset kind: "+strings.Join(datasetKinds, " or "))
	f.StringVar(&out, "out", "", "directory to write (created if missing)")
	f.IntVar(&d.N, "n", d.N, "number of images (defect) or training windows (pdm; 0 writes only --eval-span lives)")
	f.Uint64Var(&seed, "seed", 1, "simulator seed; use seeds a model was not trained on to evaluate it")
	f.Float64Var(&d.Noise, "noise", d.Noise, "sensor noise scale: camera noise (defect, 0-10) or sensor noise (pdm, 0-10)")

	f.Float64Var(&d.Lighting, "lighting", d.Lighting, "defect: lighting variation scale (0-4)")
	f.Float64Var(&d.Blur, "blur", d.Blur, "defect: extra blur sigma in frame pixels (0-10)")
	f.Float64Var(&d.OKShare, "ok-share", d.OKShare, "defect: share of ok parts; the rest is split equally between the defect classes")
	f.IntVar(&d.Width, "width", d.Width, "defect: frame width rendered before the reduction to 64×64")
	f.IntVar(&d.Height, "height", d.Height, "defect: frame height rendered before the reduction to 64×64")
	f.IntVar(&d.Workers, "workers", 0, "defect: frames rendered in parallel (0: one per CPU); the output does not depend on it")

	f.Float64Var(&p.RegimeMix, "regime-mix", p.RegimeMix, "pdm: how far operating regimes range (0 one regime, 1 full range)")
	f.Float64Var(&p.DropoutRate, "dropout", p.DropoutRate, "pdm: share of samples with a missing value (0-0.5)")
	f.IntVar(&p.Assets, "assets", p.Assets, "pdm: number of machines (kinds motor, bearing, pump in turn)")
	f.IntVar(&p.Window, "window", p.Window, "pdm: samples per window (the model's lineside.window)")
	f.DurationVar(&p.Period, "period", p.Period, "pdm: sampling period (the model's lineside.period_s)")
	f.DurationVar(&p.Horizon, "horizon", p.Horizon, "pdm: a window's target is 1 when the failure comes within this")
	f.DurationVar(&p.MaxGap, "max-gap", p.MaxGap, "pdm: longest dropout filled with the last value")
	f.Float64Var(&p.NearFailure, "near-failure", p.NearFailure, "pdm: share of windows ending near a failure (0 takes the default)")
	f.IntVar(&p.PerLife, "per-life", p.PerLife, "pdm: training windows cut from each life")
	f.DurationVar(&p.EvalSpan, "eval-span", 0, "pdm: also write eval/ with every life failing within this span, e.g. 1344h")
	f.IntVar(&p.Stride, "stride", p.Stride, "pdm: samples between evaluation windows (the inference cadence)")
	f.DurationVar(&p.MinLife, "min-life", sim.DefaultMinLife, "pdm: shortest life from repair to failure")
	f.DurationVar(&p.MaxLife, "max-life", sim.DefaultMaxLife, "pdm: longest life from repair to failure")
	f.DurationVar(&p.RepairTime, "repair", sim.DefaultRepairTime, "pdm: downtime after a failure")
	f.DurationVar(&p.RegimeEvery, "regime-every", sim.DefaultRegimeEvery, "pdm: mean time between regime changes")
	return cmd
}

// refuseOtherKind reports the first flag given that belongs to the other
// dataset kind.
func refuseOtherKind(fs *pflag.FlagSet, kind string) error {
	other, owner := pdmOnlyFlags, kindPdm
	if kind == kindPdm {
		other, owner = defectOnlyFlags, kindDefect
	}
	for _, name := range other {
		if fs.Changed(name) {
			return fmt.Errorf("--%s applies to --kind %s only, not %s", name, owner, kind)
		}
	}
	return nil
}

// printDataset lists the files written into dir.
func printDataset(cmd *cobra.Command, dir string, took time.Duration) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s in %v:\n", dir, took.Round(time.Millisecond))
	for _, sub := range []string{"", "eval"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if sub != "" && os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("list %s: %w", dir, err)
			}
			fmt.Fprintf(w, "  %-22s %10d bytes\n", filepath.Join(sub, e.Name()), info.Size())
		}
	}
	return nil
}
