package assets

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/lineside/lineside/internal/npy"
)

// Model infers batches of windows the way inference.Predictor does: fill
// Window(i) for i < n, then Run(n) returns one p_fail per window.
type Model interface {
	Window(i int) []float32
	Run(n int) ([]float32, error)
	MaxBatch() int
}

// EvalOptions are the model contract values an evaluation needs.
type EvalOptions struct {
	// Mean and Std normalise the features (lineside.feature_mean/std).
	Mean, Std []float64
	// Thresholds are the alert levels and K.
	Thresholds Thresholds
	// Lead is how long before a failure the state must have been entered
	// for the failure to count as warned ahead. Default 1h.
	Lead time.Duration
}

// EvalResult are the figures of the model card's "Measured figures".
type EvalResult struct {
	Failures   int     `json:"failures"`
	AssetWeeks float64 `json:"asset_weeks"`
	// Windows and Inferred count the evaluation windows and those without
	// gaps, which were inferred.
	Windows  int `json:"windows"`
	Inferred int `json:"inferred"`
	// Mismatches counts windows whose validity (or end) as computed by
	// Windower differs from the dataset's own; it should be zero.
	Mismatches       int     `json:"mismatches"`
	WarnedAhead      float64 `json:"warned_ahead"`
	AlarmedAhead     float64 `json:"alarmed_ahead"`
	MedianWarnLeadH  float64 `json:"median_warn_lead_h"`
	MedianAlarmLeadH float64 `json:"median_alarm_lead_h"`
	FalseAlarms      int     `json:"false_alarms"`
	// FalseAlarmsPerAssetWeek is the false-alarm rate of the quality claim.
	FalseAlarmsPerAssetWeek   float64 `json:"false_alarms_per_asset_week"`
	FalseWarningsPerAssetWeek float64 `json:"false_warnings_per_asset_week"`
}

// evalMeta is the part of eval/meta.json an evaluation reads.
type evalMeta struct {
	Kind       string   `json:"kind"`
	Features   []string `json:"features"`
	Window     int      `json:"window"`
	PeriodS    float64  `json:"period_s"`
	Stride     int      `json:"stride"`
	HorizonH   float64  `json:"horizon_h"`
	MaxGapS    float64  `json:"max_gap_s"`
	AssetWeeks float64  `json:"asset_weeks"`
}

// evalData is an eval/ directory in memory.
type evalData struct {
	meta    evalMeta
	samples []float32
	lives   []int32
	wlife   []int32
	wend    []int32
	wttf    []float32
	wvalid  []uint8
}

// Evaluate scores a failure-prediction model over the whole simulated
// lives in dir, an eval/ directory written by sim.WritePdmDataset, exactly
// as the agent would run it: each life's samples go through a Windower
// (grid, hold-last within max_gap_s, windows every stride), every window
// without gaps is inferred in batches through m, and the p_fail sequence of
// each life drives an Alert. The alarm definition and the figures are
// those of the model card and sensors/sim's writeEvalSequences.
func Evaluate(dir string, m Model, o EvalOptions) (EvalResult, error) {
	d, err := readEval(dir)
	if err != nil {
		return EvalResult{}, fmt.Errorf("assets: eval %s: %w", dir, err)
	}
	if err := o.Thresholds.Validate(); err != nil {
		return EvalResult{}, fmt.Errorf("assets: eval: thresholds: %w", err)
	}
	if o.Lead == 0 {
		o.Lead = time.Hour
	}
	p, res, err := d.predict(m, o)
	if err != nil {
		return res, fmt.Errorf("assets: eval %s: %w", dir, err)
	}
	d.score(p, o, &res)
	return res, nil
}

// readEval loads the arrays and meta.json of an eval/ directory.
func readEval(dir string) (*evalData, error) {
	d := &evalData{}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &d.meta); err != nil {
		return nil, fmt.Errorf("meta.json: %w", err)
	}
	if d.meta.Kind != "pdm-eval" || d.meta.Window < 1 || d.meta.PeriodS <= 0 || d.meta.Stride < 1 || len(d.meta.Features) == 0 {
		return nil, fmt.Errorf("meta.json: not a pdm evaluation set (kind %q, window %d, period %gs, stride %d)",
			d.meta.Kind, d.meta.Window, d.meta.PeriodS, d.meta.Stride)
	}
	arrays := []struct {
		name string
		dst  any
	}{
		{"samples", &d.samples}, {"lives", &d.lives}, {"window_life", &d.wlife},
		{"window_end", &d.wend}, {"window_ttf", &d.wttf}, {"window_valid", &d.wvalid},
	}
	for _, a := range arrays {
		arr, err := npy.Read(filepath.Join(dir, a.name+".npy"))
		if err != nil {
			return nil, err
		}
		if !assign(a.dst, arr.Data) {
			return nil, fmt.Errorf("%s.npy: unexpected element type %s", a.name, arr.Dtype)
		}
	}
	n := len(d.wlife)
	if len(d.wend) != n || len(d.wttf) != n || len(d.wvalid) != n || len(d.lives)%5 != 0 ||
		len(d.samples)%len(d.meta.Features) != 0 {
		return nil, fmt.Errorf("array lengths do not agree")
	}
	return d, nil
}

// assign stores data into dst when their types match.
func assign(dst, data any) bool {
	switch p := dst.(type) {
	case *[]float32:
		v, ok := data.([]float32)
		*p = v
		return ok
	case *[]int32:
		v, ok := data.([]int32)
		*p = v
		return ok
	case *[]uint8:
		v, ok := data.([]uint8)
		*p = v
		return ok
	}
	return false
}

// predict runs every life through a Windower and the model; p[m] is the
// p_fail of window m, NaN when it was not inferred.
func (d *evalData) predict(m Model, o EvalOptions) ([]float32, EvalResult, error) {
	nf, w, s := len(d.meta.Features), d.meta.Window, d.meta.Stride
	period := time.Duration(d.meta.PeriodS * float64(time.Second))
	spec := Spec{Features: nf, Period: period, Window: w, Stride: time.Duration(s) * period,
		Tolerance: time.Duration(d.meta.MaxGapS * float64(time.Second)), Mean: o.Mean, Std: o.Std}
	res := EvalResult{Windows: len(d.wlife), AssetWeeks: d.meta.AssetWeeks}
	p := make([]float32, len(d.wlife))
	for i := range p {
		p[i] = float32(math.NaN())
	}
	slots := make([]int, 0, m.MaxBatch())
	flush := func() error {
		if len(slots) == 0 {
			return nil
		}
		out, err := m.Run(len(slots))
		if err != nil {
			return err
		}
		for i, wi := range slots {
			p[wi] = out[i]
		}
		slots = slots[:0]
		return nil
	}
	// Life starts are put on grid instants whose index makes the life's
	// sample w-1 a stride multiple, as the dataset's windows are.
	k0 := int64(1_000_000*s + (s-(w-1)%s)%s)
	next := 0 // first window of the life being run
	var runErr error
	for li := 0; li < len(d.lives)/5; li++ {
		off, n := int(d.lives[li*5+2]), int(d.lives[li*5+3])
		win, err := NewWindower(spec)
		if err != nil {
			return nil, res, err
		}
		base := time.Unix(0, k0*int64(period))
		mi := next
		due := func(dd Due) {
			j := int(dd.End.Sub(base) / period)
			if j < w-1 || runErr != nil {
				return
			}
			if mi >= len(d.wlife) || int(d.wlife[mi]) != li || int(d.wend[mi]) != off+j {
				res.Mismatches++
				return
			}
			if dd.Ready != (d.wvalid[mi] == 1) {
				res.Mismatches++
			}
			if dd.Ready {
				win.Fill(m.Window(len(slots)))
				slots = append(slots, mi)
				res.Inferred++
				if len(slots) == m.MaxBatch() {
					runErr = flush()
				}
			}
			mi++
		}
		for j := 0; j < n; j++ {
			t := base.Add(time.Duration(j) * period)
			row := d.samples[(off+j)*nf : (off+j+1)*nf]
			for f, v := range row {
				win.Add(f, t, float64(v), !math.IsNaN(float64(v)))
			}
			win.Advance(t, due)
		}
		if runErr != nil {
			return nil, res, runErr
		}
		for next < len(d.wlife) && int(d.wlife[next]) == li {
			next++
		}
		if mi != next {
			res.Mismatches += next - mi
		}
	}
	return p, res, flush()
}
