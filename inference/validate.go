package inference

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lineside/lineside/internal/textdist"
)

// Validate checks that the metadata is complete and consistent for its task.
// Each problem is reported with the full key and the bad value, e.g.
// `lineside.input.layout: "NCWH" is not NCHW or NHWC`; all problems are
// joined into one error.
func (m Metadata) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(KeyPrefix+key+": "+format, args...))
	}
	switch m.Task {
	case TaskDefectClassification, TaskFailurePrediction:
	case "":
		bad("task", "missing; want %s or %s", TaskDefectClassification, TaskFailurePrediction)
	default:
		bad("task", "%q is not %s or %s", m.Task, TaskDefectClassification, TaskFailurePrediction)
	}
	if m.Version == "" {
		bad("version", "missing")
	}
	switch {
	case m.Output == OutputProbabilities, m.Output == OutputLogits:
	case m.Output == OutputProbability && m.Task == TaskFailurePrediction:
	default:
		bad("output", "%q is not %s or %s", m.Output, OutputProbabilities, OutputLogits)
	}
	switch m.Task {
	case TaskDefectClassification:
		m.validateLabels(bad)
		m.validateInput(bad)
	case TaskFailurePrediction:
		m.validateFeatures(bad)
	}
	return errors.Join(errs...)
}

// validateLabels checks labels and ok_label of a classifier.
func (m Metadata) validateLabels(bad func(key, format string, args ...any)) {
	if len(m.Labels) < 2 {
		bad("labels", "%q has %d class(es); want at least 2", strings.Join(m.Labels, ","), len(m.Labels))
	}
	seen := map[string]bool{}
	for i, l := range m.Labels {
		switch {
		case l == "":
			bad("labels", "item %d is empty", i)
		case seen[l]:
			bad("labels", "%q appears twice", l)
		}
		seen[l] = true
	}
	switch {
	case m.OKLabel == "":
		bad("ok_label", "missing; want one of %q", strings.Join(m.Labels, ","))
	case !seen[m.OKLabel]:
		bad("ok_label", "%q is not one of the labels %q", m.OKLabel, strings.Join(m.Labels, ","))
	}
}

// validateInput checks the image input description of a classifier.
func (m Metadata) validateInput(bad func(key, format string, args ...any)) {
	in := m.Input
	switch in.Layout {
	case LayoutNCHW, LayoutNHWC:
	case "":
		bad("input.layout", "missing; want %s or %s", LayoutNCHW, LayoutNHWC)
	default:
		bad("input.layout", "%q is not %s or %s", in.Layout, LayoutNCHW, LayoutNHWC)
	}
	channels := 0
	switch in.Color {
	case ColorGray:
		channels = 1
	case ColorRGB, ColorBGR:
		channels = 3
	case "":
		bad("input.color", "missing; want gray, rgb or bgr")
	default:
		bad("input.color", "%q is not gray, rgb or bgr", in.Color)
	}
	if in.Scale <= 0 {
		bad("input.scale", "%g is not positive", in.Scale)
	}
	if n := len(in.Mean); n != 1 && n != channels && channels != 0 {
		bad("input.mean", "%q has %d values; want 1 or %d for %s", formatFloats(in.Mean), n, channels, in.Color)
	}
	if n := len(in.Std); n != 1 && n != channels && channels != 0 {
		bad("input.std", "%q has %d values; want 1 or %d for %s", formatFloats(in.Std), n, channels, in.Color)
	}
	for _, s := range in.Std {
		if s <= 0 {
			bad("input.std", "%q: %g is not positive", formatFloats(in.Std), s)
			break
		}
	}
}

// validateFeatures checks the sensor window description of a predictor.
func (m Metadata) validateFeatures(bad func(key, format string, args ...any)) {
	if m.Window <= 0 {
		bad("window", "%d is not a positive number of samples", m.Window)
	}
	if len(m.Features) == 0 {
		bad("features", "missing; want the feature names in input order")
	}
	if n := len(m.FeatureMean); n != 0 && n != len(m.Features) {
		bad("feature_mean", "%q has %d values for %d features", formatFloats(m.FeatureMean), n, len(m.Features))
	}
	if n := len(m.FeatureStd); n != 0 && n != len(m.Features) {
		bad("feature_std", "%q has %d values for %d features", formatFloats(m.FeatureStd), n, len(m.Features))
	}
	for _, s := range m.FeatureStd {
		if s <= 0 {
			bad("feature_std", "%q: %g is not positive", formatFloats(m.FeatureStd), s)
			break
		}
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"period_s", m.PeriodS}, {"stride_s", m.StrideS}, {"max_gap_s", m.MaxGapS}, {"horizon_h", m.HorizonH}} {
		if f.v < 0 {
			bad(f.key, "%g is negative", f.v)
		}
	}
	if w, a := m.Threshold.Warn, m.Threshold.Alarm; w != 0 && a != 0 && w > a {
		bad("threshold.warn", "%g is above threshold.alarm %g", w, a)
	}
}

// suggest returns "; did you mean X?" for the contract key closest to an
// unknown one, or "" when none is close. prefix is the prefix the caller used.
func suggest(key, prefix string) string {
	if prefix == "" && strings.HasPrefix(key, KeyPrefix) {
		if _, ok := fields[strings.TrimPrefix(key, KeyPrefix)]; ok {
			return fmt.Sprintf("; did you mean %s? (overrides omit the %q prefix)", strings.TrimPrefix(key, KeyPrefix), KeyPrefix)
		}
	}
	best, bestDist := "", 3
	for _, k := range Keys() {
		if d := textdist.Edits(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s%s?", prefix, best)
}
