package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/lineside/lineside/internal/npy"
)

// DatasetOptions describe a pdm dataset. Zero numeric fields other than
// those of the embedded machine Options take the defaults named below;
// DefaultDatasetOptions gives the reference settings.
type DatasetOptions struct {
	// Options tune every machine (Noise, RegimeMix, DropoutRate, ...),
	// taken as given: the zero value is noiseless.
	Options
	// N is the number of training windows; 0 writes no training windows,
	// only the evaluation sequences.
	N int
	// Seed selects the fleet; asset i is NewMachine(AssetKind(i), Seed, i).
	Seed int64
	// Assets is the number of machines. Default 12.
	Assets int
	// Window is the number of samples per window (lineside.window). Default 30 (one hour).
	Window int
	// Period is the sampling period (lineside.period_s). Default 2 min.
	Period time.Duration
	// Horizon is the prediction horizon: a window's target is 1 when the
	// failure comes within Horizon of its last sample (lineside.horizon_h).
	// Default 12 h.
	Horizon time.Duration
	// MaxGap is the longest a channel may be filled with its last value; a
	// window with a longer gap is never used. Default 10 min.
	MaxGap time.Duration
	// NearFailure is the share of training windows whose end is drawn from
	// the last 3·Horizon of a life rather than from the whole life, so that
	// positives and hard negatives are frequent. Default 0.4.
	NearFailure float64
	// PerLife is the number of training windows cut from each life. Default 40.
	PerLife int
	// EvalSpan, when positive, also writes the evaluation sequences of every
	// life that fails within EvalSpan of the start, into eval/.
	EvalSpan time.Duration
	// Stride is the number of samples between the ends of successive
	// evaluation windows, the inference cadence being evaluated. Default 5
	// (every 10 minutes at the default period).
	Stride int
}

// Defaults of DatasetOptions.
const (
	DefaultAssets      = 12
	DefaultWindow      = 30
	DefaultHorizon     = 12 * time.Hour
	DefaultMaxGap      = 10 * time.Minute
	DefaultNearFailure = 0.4
	DefaultPerLife     = 40
	DefaultStride      = 5
)

// DefaultDatasetOptions returns the settings of the reference pdm-lstm
// training data for n windows and the given seed.
func DefaultDatasetOptions(n int, seed int64) DatasetOptions {
	return DatasetOptions{Options: DefaultOptions(), N: n, Seed: seed}.withDefaults()
}

func (o DatasetOptions) withDefaults() DatasetOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Assets, DefaultAssets)
	def(&o.Window, DefaultWindow)
	def(&o.PerLife, DefaultPerLife)
	def(&o.Stride, DefaultStride)
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.Horizon == 0 {
		o.Horizon = DefaultHorizon
	}
	if o.MaxGap == 0 {
		o.MaxGap = DefaultMaxGap
	}
	if o.NearFailure == 0 {
		o.NearFailure = DefaultNearFailure
	}
	return o
}

// Validate reports the first setting out of range, after defaults.
func (o DatasetOptions) Validate() error {
	d := o.withDefaults()
	switch {
	case d.N < 0:
		return fmt.Errorf("sim: dataset n %d: must not be negative", d.N)
	case d.N == 0 && d.EvalSpan <= 0:
		return fmt.Errorf("sim: dataset has neither training windows (n) nor evaluation span")
	case d.Assets < 0 || d.Window < 0 || d.PerLife < 0 || d.Stride < 0:
		return fmt.Errorf("sim: dataset assets %d, window %d, per life %d, stride %d: must not be negative",
			d.Assets, d.Window, d.PerLife, d.Stride)
	case d.Window < 2:
		return fmt.Errorf("sim: dataset window %d: must be at least 2", d.Window)
	case d.Period < time.Second:
		return fmt.Errorf("sim: dataset period %v: must be at least 1s", d.Period)
	case d.Horizon < d.Period:
		return fmt.Errorf("sim: dataset horizon %v: must be at least one period", d.Horizon)
	case d.MaxGap < 0:
		return fmt.Errorf("sim: dataset max gap %v: must not be negative", d.MaxGap)
	case d.NearFailure < 0 || d.NearFailure > 1:
		return fmt.Errorf("sim: dataset near failure share %v: must be in [0, 1]", d.NearFailure)
	case d.EvalSpan < 0:
		return fmt.Errorf("sim: dataset eval span %v: must not be negative", d.EvalSpan)
	}
	if w, life := time.Duration(d.Window)*d.Period, d.Options.withDefaults().MinLife; w*4 > life {
		return fmt.Errorf("sim: dataset window of %v: too long for lives of %v", w, life)
	}
	return d.Options.Validate()
}

// datasetMeta is meta.json of a pdm dataset.
type datasetMeta struct {
	Kind        string      `json:"kind"`
	Features    []string    `json:"features"`
	Units       []string    `json:"units"`
	Window      int         `json:"window"`
	PeriodS     float64     `json:"period_s"`
	HorizonH    float64     `json:"horizon_h"`
	MaxGapS     float64     `json:"max_gap_s"`
	Seed        int64       `json:"seed"`
	Assets      int         `json:"assets"`
	AssetKinds  []string    `json:"asset_kinds"`
	Options     optionsJSON `json:"options"`
	N           int         `json:"n"`
	NearFailure float64     `json:"near_failure"`
	Positives   int         `json:"positives"`
	Files       []string    `json:"files"`
}

// WritePdmDataset writes a failure-prediction dataset into dir (created if
// needed), in raw sensor units; normalisation belongs to the model.
//
// Training windows: N windows of Window samples taken every Period, cut
// from whole lives of each asset in turn (PerLife per life; a NearFailure
// share of ends drawn from the last 3·Horizon of the life, the rest from the
// whole life). Dropouts are filled with the channel's last value; windows
// with a gap longer than MaxGap, or starting before the life, are never
// used. Files, row i being window i:
//
//	windows.npy  float32 N×Window×4  features in Features order, hold-last filled
//	targets.npy  float32 N           1 when the failure comes within Horizon of the window's last sample
//	ttf.npy      float32 N           hours from the window's last sample to the failure
//	asset.npy    int32   N           asset index (its kind is asset_kinds[asset] in meta.json)
//	life.npy     int32   N           life index within the asset
//	meta.json                        kind "pdm", features, window, period_s, horizon_h, max_gap_s, seed, options
//
// With EvalSpan > 0 the evaluation sequences go to dir/eval (see
// writeEvalSequences for their layout).
func WritePdmDataset(dir string, o DatasetOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sim: dataset: %w", err)
	}
	ms, kindNames, err := fleet(o)
	if err != nil {
		return err
	}
	maxGap := int(o.MaxGap / o.Period)
	near := int(3 * o.Horizon / o.Period)
	w := o.Window
	windows := make([]float32, 0, o.N*w*NumFeatures)
	var targets, ttf []float32
	var assets, lives []int32
	positives := 0
	for a, m := range ms {
		quota := o.N / o.Assets
		if a < o.N%o.Assets {
			quota++
		}
		r := rand.New(rand.NewPCG(uint64(o.Seed), uint64(a)+1<<32))
		for li, idle := 0, 0; quota > 0; li++ {
			if idle > 20 {
				return fmt.Errorf("sim: dataset: asset %d: no window without gaps in 20 lives; lower the dropout rate or raise max gap", a)
			}
			s := sampleLife(m, m.Life(li), o.Period, maxGap)
			idle++
			for k := 0; k < o.PerLife && quota > 0; k++ {
				lo := w - 1
				if r.Float64() < o.NearFailure {
					lo = max(lo, s.n-near)
				}
				e := lo + r.IntN(s.n-lo)
				if !s.valid(e, w) {
					continue
				}
				windows = s.window(windows, e, w)
				ttf = append(ttf, s.ttf[e])
				target := float32(0)
				if time.Duration(float64(s.ttf[e])*float64(time.Hour)) <= o.Horizon {
					target, positives = 1, positives+1
				}
				targets = append(targets, target)
				assets = append(assets, int32(a))
				lives = append(lives, int32(li))
				quota, idle = quota-1, 0
			}
		}
	}
	n := len(targets)
	files := []struct {
		name  string
		shape []int
		data  any
	}{
		{"windows.npy", []int{n, w, NumFeatures}, windows},
		{"targets.npy", []int{n}, targets},
		{"ttf.npy", []int{n}, ttf},
		{"asset.npy", []int{n}, assets},
		{"life.npy", []int{n}, lives},
	}
	meta := datasetMeta{
		Kind: "pdm", Features: Features[:], Units: Units[:], Window: w,
		PeriodS: o.Period.Seconds(), HorizonH: o.Horizon.Hours(), MaxGapS: o.MaxGap.Seconds(),
		Seed: o.Seed, Assets: o.Assets, AssetKinds: kindNames, Options: toOptionsJSON(o.Options),
		N: n, NearFailure: o.NearFailure, Positives: positives,
	}
	for _, f := range files {
		if n == 0 {
			break
		}
		if err := npy.Write(filepath.Join(dir, f.name), f.shape, f.data); err != nil {
			return fmt.Errorf("sim: dataset: %w", err)
		}
		meta.Files = append(meta.Files, f.name)
	}
	if err := writeJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
		return err
	}
	if o.EvalSpan > 0 {
		return writeEvalSequences(filepath.Join(dir, "eval"), o, ms, kindNames)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: dataset: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("sim: dataset: %w", err)
	}
	return nil
}
