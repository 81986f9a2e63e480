package inference

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// KeyPrefix starts every model-contract key in an ONNX file's metadata_props.
// YAML overrides use the same keys without it.
const KeyPrefix = "lineside."

// Tasks a model can declare in lineside.task.
const (
	TaskDefectClassification = "defect_classification"
	TaskFailurePrediction    = "failure_prediction"
)

// Values of lineside.input.layout, lineside.input.color and lineside.output.
const (
	LayoutNCHW = "NCHW"
	LayoutNHWC = "NHWC"

	ColorGray = "gray"
	ColorRGB  = "rgb"
	ColorBGR  = "bgr"

	// OutputProbabilities means the model ends in a softmax (the default).
	OutputProbabilities = "probabilities"
	// OutputLogits means raw scores; the classifier applies softmax itself,
	// and a failure predictor applies the logistic function.
	OutputLogits = "logits"
	// OutputProbability means a failure predictor ends in a sigmoid, as
	// pdm-lstm declares it; probabilities is accepted for it too.
	OutputProbability = "probability"
)

// Metadata is the model contract of DESIGN.md: what a model does and how to
// feed it. It comes from the model's metadata_props, completed or corrected
// by YAML overrides (see Merge). Zero values mean "not given".
type Metadata struct {
	// Task is lineside.task: defect_classification or failure_prediction.
	Task string
	// Version is lineside.version, reported with every result.
	Version string
	// Labels is lineside.labels: class names in output order.
	Labels []string
	// OKLabel is lineside.ok_label: the label of a good part.
	OKLabel string
	// Input is lineside.input.*: how images become the input tensor.
	Input InputSpec
	// Output is lineside.output: probabilities (default) or logits.
	Output string
	// Window is lineside.window: samples per LSTM input window.
	Window int
	// Features is lineside.features: sensor feature names in input order.
	Features []string
	// FeatureMean and FeatureStd are lineside.feature_mean/feature_std:
	// per-feature normalisation, x' = (x - mean) / std.
	FeatureMean, FeatureStd []float64
	// Threshold is lineside.threshold.*: default alert thresholds.
	Threshold Thresholds
	// PeriodS is lineside.period_s: the sampling period, in seconds, the
	// failure-prediction model was trained at.
	PeriodS float64
	// StrideS is lineside.stride_s: the inference cadence, in seconds, the
	// thresholds were chosen for.
	StrideS float64
	// MaxGapS is lineside.max_gap_s: the longest dropout, in seconds, that
	// may be filled with a channel's last value.
	MaxGapS float64
	// HorizonH is lineside.horizon_h: p_fail is the probability of a failure
	// within this many hours.
	HorizonH float64
	// Extra holds lineside.* keys of the model file that this version of
	// lineside does not know (without the prefix). A newer exporter may add
	// keys; an older agent keeps serving the model and reports them.
	Extra map[string]string
}

// InputSpec describes the image input: the tensor value of a pixel p in
// channel c is (p*Scale - Mean[c]) / Std[c], with a single Mean or Std value
// applying to every channel.
type InputSpec struct {
	// Layout is NCHW or NHWC.
	Layout string
	// Color is gray, rgb or bgr: the channel order the model expects.
	Color string
	// Scale multiplies the 0-255 pixel value first; default 1.
	Scale float64
	// Mean is subtracted after scaling; default 0.
	Mean []float64
	// Std divides last; default 1.
	Std []float64
}

// Thresholds are default alert levels of a failure-prediction model; zero
// means not set.
type Thresholds struct {
	// Warn is lineside.threshold.warn.
	Warn float64
	// Alarm is lineside.threshold.alarm.
	Alarm float64
}

// field is one contract key: how to parse it into Metadata and print it back.
type field struct {
	set func(m *Metadata, v string) error
	get func(m Metadata) string
}

// fields maps every contract key, without KeyPrefix, to its field.
var fields = map[string]field{
	"task":            {func(m *Metadata, v string) error { m.Task = strings.ToLower(v); return nil }, func(m Metadata) string { return m.Task }},
	"version":         {func(m *Metadata, v string) error { m.Version = v; return nil }, func(m Metadata) string { return m.Version }},
	"labels":          {func(m *Metadata, v string) error { m.Labels = splitList(v); return nil }, func(m Metadata) string { return strings.Join(m.Labels, ",") }},
	"ok_label":        {func(m *Metadata, v string) error { m.OKLabel = v; return nil }, func(m Metadata) string { return m.OKLabel }},
	"input.layout":    {func(m *Metadata, v string) error { m.Input.Layout = strings.ToUpper(v); return nil }, func(m Metadata) string { return m.Input.Layout }},
	"input.color":     {func(m *Metadata, v string) error { m.Input.Color = strings.ToLower(v); return nil }, func(m Metadata) string { return m.Input.Color }},
	"input.scale":     {func(m *Metadata, v string) (err error) { m.Input.Scale, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.Input.Scale}) }},
	"input.mean":      {func(m *Metadata, v string) (err error) { m.Input.Mean, err = parseFloats(v); return }, func(m Metadata) string { return formatFloats(m.Input.Mean) }},
	"input.std":       {func(m *Metadata, v string) (err error) { m.Input.Std, err = parseFloats(v); return }, func(m Metadata) string { return formatFloats(m.Input.Std) }},
	"output":          {func(m *Metadata, v string) error { m.Output = strings.ToLower(v); return nil }, func(m Metadata) string { return m.Output }},
	"window":          {func(m *Metadata, v string) (err error) { m.Window, err = strconv.Atoi(v); return }, func(m Metadata) string { return strconv.Itoa(m.Window) }},
	"features":        {func(m *Metadata, v string) error { m.Features = splitList(v); return nil }, func(m Metadata) string { return strings.Join(m.Features, ",") }},
	"feature_mean":    {func(m *Metadata, v string) (err error) { m.FeatureMean, err = parseFloats(v); return }, func(m Metadata) string { return formatFloats(m.FeatureMean) }},
	"feature_std":     {func(m *Metadata, v string) (err error) { m.FeatureStd, err = parseFloats(v); return }, func(m Metadata) string { return formatFloats(m.FeatureStd) }},
	"threshold.warn":  {func(m *Metadata, v string) (err error) { m.Threshold.Warn, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.Threshold.Warn}) }},
	"threshold.alarm": {func(m *Metadata, v string) (err error) { m.Threshold.Alarm, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.Threshold.Alarm}) }},
	"period_s":        {func(m *Metadata, v string) (err error) { m.PeriodS, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.PeriodS}) }},
	"stride_s":        {func(m *Metadata, v string) (err error) { m.StrideS, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.StrideS}) }},
	"max_gap_s":       {func(m *Metadata, v string) (err error) { m.MaxGapS, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.MaxGapS}) }},
	"horizon_h":       {func(m *Metadata, v string) (err error) { m.HorizonH, err = parseFloat(v); return }, func(m Metadata) string { return formatFloats([]float64{m.HorizonH}) }},
}

// Keys lists the contract keys, without KeyPrefix, in sorted order.
func Keys() []string {
	out := make([]string, 0, len(fields))
	for k := range fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defaultMetadata holds the values assumed when a key is absent.
func defaultMetadata() Metadata {
	return Metadata{Output: OutputProbabilities, Input: InputSpec{Scale: 1, Mean: []float64{0}, Std: []float64{1}}}
}

// ReadMetadata reads the lineside.* keys of the model at path (Init must have
// succeeded). Absent keys keep their defaults (output probabilities, scale 1,
// mean 0, std 1); an unknown lineside.* key is kept in Extra, and a value
// that does not parse is an error. The result is not validated: overrides may still complete it.
func ReadMetadata(path string) (Metadata, error) {
	if _, err := runtimeConfig(); err != nil {
		return Metadata{}, fmt.Errorf("model %s: %w", path, err)
	}
	if _, err := os.Stat(path); err != nil {
		return Metadata{}, fmt.Errorf("model %s: %w", path, err)
	}
	opts, release, err := sessionOptions(1, nil)
	if err != nil {
		return Metadata{}, fmt.Errorf("model %s: %w", path, err)
	}
	defer release()
	md, err := ort.GetModelMetadataWithOptions(path, opts)
	if err != nil {
		return Metadata{}, fmt.Errorf("model %s: load: %w", path, err)
	}
	defer md.Destroy()
	m, err := metadataFrom(md)
	if err != nil {
		return Metadata{}, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}

// metadataFrom parses the custom metadata map of a loaded model.
func metadataFrom(md *ort.ModelMetadata) (Metadata, error) {
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return Metadata{}, fmt.Errorf("metadata keys: %w", err)
	}
	sort.Strings(keys)
	props := make(map[string]string, len(keys))
	for _, k := range keys {
		if !strings.HasPrefix(k, KeyPrefix) {
			continue
		}
		v, _, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return Metadata{}, fmt.Errorf("metadata %s: %w", k, err)
		}
		props[strings.TrimPrefix(k, KeyPrefix)] = v
	}
	return defaultMetadata().apply(props, KeyPrefix, false)
}

// Merge returns m with overrides applied. Override keys are the contract keys
// without the "lineside." prefix (labels, input.layout, threshold.warn, ...);
// an unknown key or an unparsable value is an error naming the key. The
// result is not validated; call Validate once all sources are merged.
func (m Metadata) Merge(overrides map[string]string) (Metadata, error) {
	return m.clone().apply(overrides, "", true)
}

// apply sets the given keys (without prefix) in sorted order, so errors are
// deterministic; prefix is prepended to keys in error messages. An unknown
// key is an error when strict, else it is kept in Extra.
func (m Metadata) apply(props map[string]string, prefix string, strict bool) (Metadata, error) {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fields[k]
		if !ok && !strict {
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = props[k]
			continue
		}
		if !ok {
			return Metadata{}, fmt.Errorf("%s%s: unknown key%s", prefix, k, suggest(k, prefix))
		}
		if err := f.set(&m, strings.TrimSpace(props[k])); err != nil {
			return Metadata{}, fmt.Errorf("%s%s: %w", prefix, k, err)
		}
	}
	return m, nil
}

// Props returns the metadata as metadata_props entries (keys with the
// "lineside." prefix), omitting keys whose value is empty or zero.
func (m Metadata) Props() map[string]string {
	out := map[string]string{}
	for k, f := range fields {
		if v := f.get(m); v != "" && v != "0" {
			out[KeyPrefix+k] = v
		}
	}
	return out
}

// clone returns a deep copy, so Merge never aliases the receiver's slices.
func (m Metadata) clone() Metadata {
	c := m
	c.Labels = append([]string(nil), m.Labels...)
	c.Features = append([]string(nil), m.Features...)
	c.Input.Mean = append([]float64(nil), m.Input.Mean...)
	c.Input.Std = append([]float64(nil), m.Input.Std...)
	c.FeatureMean = append([]float64(nil), m.FeatureMean...)
	c.FeatureStd = append([]float64(nil), m.FeatureStd...)
	if m.Extra != nil {
		c.Extra = make(map[string]string, len(m.Extra))
		for k, v := range m.Extra {
			c.Extra[k] = v
		}
	}
	return c
}

// splitList splits a comma-separated list, trimming spaces; "" gives nil.
func splitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// parseFloat parses one finite number.
func parseFloat(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

// parseFloats parses a comma-separated list of finite numbers.
func parseFloats(v string) ([]float64, error) {
	parts := splitList(v)
	out := make([]float64, len(parts))
	for i, p := range parts {
		f, err := parseFloat(p)
		if err != nil {
			return nil, fmt.Errorf("%q: item %d: %w", v, i, err)
		}
		out[i] = f
	}
	return out, nil
}

// formatFloats prints numbers in the shortest form that parses back exactly.
func formatFloats(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// modelContract reads a loaded session's metadata, applies the YAML
// overrides, and checks that the model declares task and that the merged
// contract is complete: the common part of loading any lineside model.
func modelContract(get func() (*ort.ModelMetadata, error), overrides map[string]string, task string) (Metadata, error) {
	md, err := get()
	if err != nil {
		return Metadata{}, fmt.Errorf("metadata: %w", err)
	}
	defer md.Destroy()
	meta, err := metadataFrom(md)
	if err != nil {
		return Metadata{}, err
	}
	if meta, err = meta.Merge(overrides); err != nil {
		return Metadata{}, fmt.Errorf("override %w", err)
	}
	if meta.Task != task {
		return Metadata{}, fmt.Errorf("lineside.task is %q, want %s", meta.Task, task)
	}
	return meta, meta.Validate()
}
