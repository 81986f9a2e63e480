// Package eval measures a reference model on a dataset written by
// `lineside sim dataset`, through lineside's own inference code: the
// Classifier's pre-processing and ONNX Runtime session for defect images,
// the Predictor and the agent's windowing and alert states
// (sensors/assets.Evaluate) for machine lives. The figures are those of the
// model cards' "Measured figures" sections and of `lineside models eval`.
package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sensors/assets"
)

// Dataset kinds, as meta.json's kind names them.
const (
	// KindDefect is a defect image set (camera/synthetic.WriteDefectDataset).
	KindDefect = "defect"
	// KindPdm is a failure-prediction set (sensors/sim.WritePdmDataset); its
	// evaluation sequences are in its eval/ folder.
	KindPdm = "pdm"
	// KindPdmEval is such an eval/ folder on its own.
	KindPdmEval = "pdm-eval"
)

// taskOf maps a dataset kind to the model task that can be evaluated on it.
var taskOf = map[string]string{
	KindDefect:  inference.TaskDefectClassification,
	KindPdm:     inference.TaskFailurePrediction,
	KindPdmEval: inference.TaskFailurePrediction,
}

// ErrTaskMismatch is returned (wrapped) when the model's lineside.task does
// not fit the dataset's kind.
var ErrTaskMismatch = errors.New("model task does not match the dataset")

// Report is the outcome of Run: which model on which data, and its figures.
// Exactly one of Defect and Pdm is set.
type Report struct {
	// Model and Version are the model file and its lineside.version.
	Model   string `json:"model"`
	Version string `json:"version"`
	// Data is the dataset directory and Kind its meta.json kind.
	Data string `json:"data"`
	Kind string `json:"kind"`
	// Seed is the dataset's simulator seed.
	Seed int64 `json:"seed"`
	// Defect holds the figures of a defect classifier.
	Defect *DefectResult `json:"defect,omitempty"`
	// Pdm holds the figures of a failure predictor.
	Pdm *assets.EvalResult `json:"pdm,omitempty"`
	// Took is the wall time of the evaluation, loading included.
	Took time.Duration `json:"took_ns"`
}

// meta is the part of any dataset's meta.json that Run reads first.
type meta struct {
	Kind string `json:"kind"`
	Seed int64  `json:"seed"`
}

// DatasetKind returns the kind recorded in dir/meta.json, with errors that
// name the folder when it cannot be read or is not a dataset.
func DatasetKind(dir string) (string, int64, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return "", 0, fmt.Errorf("dataset %s: %w", dir, err)
	}
	if !info.IsDir() {
		return "", 0, fmt.Errorf("dataset %s: not a directory", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, fmt.Errorf("dataset %s: no meta.json; not a folder written by `lineside sim dataset`", dir)
	}
	if err != nil {
		return "", 0, fmt.Errorf("dataset %s: %w", dir, err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return "", 0, fmt.Errorf("dataset %s: meta.json: %w", dir, err)
	}
	if _, ok := taskOf[m.Kind]; !ok {
		return "", 0, fmt.Errorf("dataset %s: meta.json kind %q: want %s, %s or %s", dir, m.Kind, KindDefect, KindPdm, KindPdmEval)
	}
	return m.Kind, m.Seed, nil
}

// CheckTask returns ErrTaskMismatch, wrapped with both names, when a model
// of task cannot be evaluated on a dataset of kind.
func CheckTask(task, kind string) error {
	want, ok := taskOf[kind]
	if !ok {
		return fmt.Errorf("dataset kind %q: unknown", kind)
	}
	if task != want {
		return fmt.Errorf("%w: the model's lineside.task is %q, but %s data needs a %s model", ErrTaskMismatch, task, kind, want)
	}
	return nil
}

// Run evaluates the model file on the dataset in dir, dispatching on the
// dataset's kind. inference.Init must have succeeded. It refuses a model
// whose task does not match the dataset before running anything.
func Run(model, dir string) (*Report, error) {
	start := time.Now()
	kind, seed, err := DatasetKind(dir)
	if err != nil {
		return nil, err
	}
	md, err := inference.ReadMetadata(model)
	if err != nil {
		return nil, err
	}
	if err := CheckTask(md.Task, kind); err != nil {
		return nil, fmt.Errorf("model %s on dataset %s: %w", model, dir, err)
	}
	r := &Report{Model: model, Version: md.Version, Data: dir, Kind: kind, Seed: seed}
	switch kind {
	case KindDefect:
		c, err := inference.LoadClassifier(model, inference.ClassifierOptions{})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		res, err := Defect(dir, c)
		if err != nil {
			return nil, err
		}
		r.Defect = &res
	default:
		p, err := inference.LoadPredictor(model, inference.PredictorOptions{MaxBatch: pdmBatch})
		if err != nil {
			return nil, err
		}
		defer p.Close()
		res, err := Pdm(dir, p)
		if err != nil {
			return nil, err
		}
		r.Pdm = &res
	}
	r.Took = time.Since(start)
	return r, nil
}

// pdmBatch is the batch the failure predictor runs with: the evaluation
// infers whole lives at once, so a large batch only saves calls.
const pdmBatch = 256

// Pdm scores a failure predictor over the evaluation sequences of dir,
// either a pdm dataset (its eval/ folder is used) or the eval/ folder
// itself, with the model's own normalisation and thresholds and the model
// card's K (sensors/assets.Evaluate).
func Pdm(dir string, p *inference.Predictor) (assets.EvalResult, error) {
	evalDir := dir
	kind, _, err := DatasetKind(dir)
	if err != nil {
		return assets.EvalResult{}, err
	}
	switch kind {
	case KindPdm:
		evalDir = filepath.Join(dir, "eval")
		if _, err := os.Stat(filepath.Join(evalDir, "meta.json")); err != nil {
			return assets.EvalResult{}, fmt.Errorf("dataset %s: no evaluation sequences in eval/; write them with `lineside sim dataset --kind pdm --eval-span D`", dir)
		}
	case KindPdmEval:
	default:
		return assets.EvalResult{}, fmt.Errorf("dataset %s: kind %q is not failure-prediction data", dir, kind)
	}
	md := p.Metadata()
	if err := CheckTask(md.Task, KindPdm); err != nil {
		return assets.EvalResult{}, err
	}
	if err := checkPdmContract(evalDir, md); err != nil {
		return assets.EvalResult{}, fmt.Errorf("dataset %s: %w", dir, err)
	}
	return assets.Evaluate(evalDir, p, assets.EvalOptions{
		Mean: md.FeatureMean, Std: md.FeatureStd,
		Thresholds: assets.Thresholds{Warn: md.Threshold.Warn, Alarm: md.Threshold.Alarm, K: assets.DefaultDebounce},
	})
}

// checkPdmContract refuses evaluation sequences whose features, window or
// sampling period differ from the model's contract.
func checkPdmContract(evalDir string, md inference.Metadata) error {
	b, err := os.ReadFile(filepath.Join(evalDir, "meta.json"))
	if err != nil {
		return err
	}
	var m struct {
		Features []string `json:"features"`
		Window   int      `json:"window"`
		PeriodS  float64  `json:"period_s"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("eval/meta.json: %w", err)
	}
	switch {
	case !slices.Equal(m.Features, md.Features):
		return fmt.Errorf("features %s, but the model reads %s", strings.Join(m.Features, ","), strings.Join(md.Features, ","))
	case m.Window != md.Window:
		return fmt.Errorf("windows of %d samples, but the model's lineside.window is %d", m.Window, md.Window)
	case md.PeriodS > 0 && m.PeriodS != md.PeriodS:
		return fmt.Errorf("sampled every %gs, but the model's lineside.period_s is %g", m.PeriodS, md.PeriodS)
	}
	return nil
}
