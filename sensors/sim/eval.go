package sim

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lineside/lineside/internal/npy"
)

// AlarmDebounce is K, the number of consecutive windows a threshold must be
// crossed before a state is entered, in the alarm definition below.
const AlarmDebounce = 3

// evalMeta is eval/meta.json.
type evalMeta struct {
	Kind       string      `json:"kind"`
	Features   []string    `json:"features"`
	Window     int         `json:"window"`
	PeriodS    float64     `json:"period_s"`
	Stride     int         `json:"stride"`
	HorizonH   float64     `json:"horizon_h"`
	MaxGapS    float64     `json:"max_gap_s"`
	Seed       int64       `json:"seed"`
	Assets     int         `json:"assets"`
	AssetKinds []string    `json:"asset_kinds"`
	Options    optionsJSON `json:"options"`
	SpanH      float64     `json:"span_h"`
	Lives      int         `json:"lives"`
	Samples    int         `json:"samples"`
	Windows    int         `json:"windows"`
	AssetWeeks float64     `json:"asset_weeks"`
	Debounce   int         `json:"debounce"`
	Files      []string    `json:"files"`
}

// writeEvalSequences writes, into dir, every life of every asset that
// fails within o.EvalSpan, whole and in order, so that an evaluator can
// run a model over time the way the agent does and score its alerts.
//
// Raw samples are stored once and windows refer to them, because windows
// ending every Stride samples overlap Window/Stride times:
//
//	samples.npy       float32 S×4  raw samples of all lives back to back (asset, then life order), NaN for dropouts
//	lives.npy         int32   L×5  per life: asset, life index, first row in samples, number of samples, kind index
//	window_life.npy   int32   M    row in lives.npy of each window
//	window_end.npy    int32   M    row in samples.npy of the window's last sample
//	window_ttf.npy    float32 M    hours from the window's last sample to the failure
//	window_valid.npy  uint8   M    1 when no channel's hold-last gap in the window exceeds max_gap_s
//	meta.json                      window, period_s, stride, horizon_h, max_gap_s, asset_weeks, ...
//
// Sample j of a life is taken j·period after the life starts (the repair
// ends); the last one is the last grid instant before the failure. Windows
// of a life end at its samples Window−1, Window−1+Stride, ... in time order;
// window m holds samples[end−Window+1 : end+1] with each NaN replaced by the
// last non-NaN value of its channel earlier in the same life. kind index i
// means Kinds()[i]. asset_weeks is the evaluated time, from the end of each
// life's first window to its failure, summed over lives.
//
// Alerts are scored per life, starting in state ok, with K = AlarmDebounce:
//
//	p ≥ alarm for K consecutive windows, state not alarm  → alarm (an alarm is raised)
//	p ≥ warn for K consecutive windows, state ok          → warn
//	p < warn, state warn or alarm                         → ok
//
// A window that is not valid is not inferred and changes nothing. A false
// alarm is a raised alarm whose window ends more than horizon_h before the
// failure. A failure is warned (alarmed) with lead time X when the state
// entered warn or alarm (alarm) X before the failure and stayed there until
// the life's last window; it counts as warned ahead when X ≥ 1 h.
func writeEvalSequences(dir string, o DatasetOptions, ms []*Machine, kindNames []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sim: eval: %w", err)
	}
	kindIndex := map[string]int32{}
	for i, k := range Kinds() {
		kindIndex[k] = int32(i)
	}
	maxGap := int(o.MaxGap / o.Period)
	var samples, wttf []float32
	var lives, wlife, wend []int32
	var wvalid []uint8
	var evaluated float64
	for a, m := range ms {
		for li := 0; m.Life(li).Failure <= o.EvalSpan; li++ {
			s := sampleLife(m, m.Life(li), o.Period, maxGap)
			if s.n < o.Window {
				continue
			}
			row := int32(len(lives) / 5)
			off := int32(len(samples) / NumFeatures)
			lives = append(lives, int32(a), int32(li), off, int32(s.n), kindIndex[kindNames[a]])
			samples = append(samples, s.raw...)
			for e := o.Window - 1; e < s.n; e += o.Stride {
				wlife = append(wlife, row)
				wend = append(wend, off+int32(e))
				wttf = append(wttf, s.ttf[e])
				v := uint8(0)
				if s.valid(e, o.Window) {
					v = 1
				}
				wvalid = append(wvalid, v)
			}
			evaluated += float64(s.ttf[o.Window-1])
		}
	}
	nl, ns, nw := len(lives)/5, len(samples)/NumFeatures, len(wlife)
	if nl == 0 {
		return fmt.Errorf("sim: eval: no life fails within the eval span %v", o.EvalSpan)
	}
	meta := evalMeta{
		Kind: "pdm-eval", Features: Features[:], Window: o.Window, PeriodS: o.Period.Seconds(),
		Stride: o.Stride, HorizonH: o.Horizon.Hours(), MaxGapS: o.MaxGap.Seconds(),
		Seed: o.Seed, Assets: o.Assets, AssetKinds: kindNames, Options: toOptionsJSON(o.Options),
		SpanH: o.EvalSpan.Hours(), Lives: nl, Samples: ns, Windows: nw,
		AssetWeeks: evaluated / (24 * 7), Debounce: AlarmDebounce,
	}
	files := []struct {
		name  string
		shape []int
		data  any
	}{
		{"samples.npy", []int{ns, NumFeatures}, samples},
		{"lives.npy", []int{nl, 5}, lives},
		{"window_life.npy", []int{nw}, wlife},
		{"window_end.npy", []int{nw}, wend},
		{"window_ttf.npy", []int{nw}, wttf},
		{"window_valid.npy", []int{nw}, wvalid},
	}
	for _, f := range files {
		if err := npy.Write(filepath.Join(dir, f.name), f.shape, f.data); err != nil {
			return fmt.Errorf("sim: eval: %w", err)
		}
		meta.Files = append(meta.Files, f.name)
	}
	return writeJSON(filepath.Join(dir, "meta.json"), meta)
}
