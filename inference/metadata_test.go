package inference

import (
	"reflect"
	"strings"
	"testing"
)

// defectMeta is what models/defect-cnn/export.py writes, for the given
// version: the version changes with every training run of the model.
func defectMeta(version string) Metadata {
	return Metadata{
		Task:    TaskDefectClassification,
		Version: version,
		Labels:  []string{"ok", "scratch", "spot", "crack"},
		OKLabel: "ok",
		Input: InputSpec{
			Layout: LayoutNCHW, Color: ColorGray,
			Scale: 0.00392156862745098, Mean: []float64{0.5}, Std: []float64{0.25},
		},
		Output: OutputProbabilities,
	}
}

func TestReadMetadataDefectCNN(t *testing.T) {
	initORT(t)
	got, err := ReadMetadata(defectModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version == "" {
		t.Fatal("reference model has no lineside.version")
	}
	if want := defectMeta(got.Version); !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadMetadata:\n got %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	props := got.Props()
	for k, want := range map[string]string{
		"lineside.input.scale": "0.00392156862745098",
		"lineside.labels":      "ok,scratch,spot,crack",
		"lineside.input.mean":  "0.5",
	} {
		if props[k] != want {
			t.Errorf("Props()[%s] = %q, want %q", k, props[k], want)
		}
	}
	// Props feeds back into the same Metadata.
	short := map[string]string{}
	for k, v := range props {
		short[strings.TrimPrefix(k, KeyPrefix)] = v
	}
	back, err := Metadata{}.Merge(short)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, got) {
		t.Errorf("Props round trip:\n got %+v\nwant %+v", back, got)
	}
}

func TestReadMetadataErrors(t *testing.T) {
	initORT(t)
	for _, name := range []string{"not-a-model.onnx", "missing.onnx"} {
		path := fixture(t, name)
		if _, err := ReadMetadata(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadMetadata(%s) = %v, want an error naming the file", name, err)
		}
	}
	m, err := ReadMetadata(fixture(t, "wrong-task.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Task != TaskFailurePrediction || m.Window != 32 || !reflect.DeepEqual(m.Features, []string{"vibration", "temperature"}) ||
		!reflect.DeepEqual(m.FeatureStd, []float64{1, 5}) || m.Threshold != (Thresholds{Warn: 0.5, Alarm: 0.8}) {
		t.Errorf("failure_prediction metadata = %+v", m)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestMergeValidate(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		mergeErr  string // substring of the Merge error, "" for none
		validErr  string // substring of the Validate error, "" for none
		check     func(t *testing.T, m Metadata)
	}{
		{name: "no overrides"},
		{
			name:      "labels and version",
			overrides: map[string]string{"labels": "good, dent ,hole", "ok_label": "good", "version": "2.0"},
			check: func(t *testing.T, m Metadata) {
				if !reflect.DeepEqual(m.Labels, []string{"good", "dent", "hole"}) || m.OKLabel != "good" || m.Version != "2.0" {
					t.Errorf("merged = %+v", m)
				}
			},
		},
		{
			name:      "rgb with per-channel mean",
			overrides: map[string]string{"input.color": "RGB", "input.layout": "nhwc", "input.mean": "0.485,0.456,0.406", "input.std": "0.229,0.224,0.225", "output": "logits"},
			check: func(t *testing.T, m Metadata) {
				if m.Input.Color != ColorRGB || m.Input.Layout != LayoutNHWC || len(m.Input.Mean) != 3 || m.Output != OutputLogits {
					t.Errorf("merged = %+v", m)
				}
			},
		},
		{name: "bad layout", overrides: map[string]string{"input.layout": "NCWH"}, validErr: `lineside.input.layout: "NCWH" is not NCHW or NHWC`},
		{name: "bad color", overrides: map[string]string{"input.color": "hsv"}, validErr: `lineside.input.color: "hsv" is not gray, rgb or bgr`},
		{name: "bad scale", overrides: map[string]string{"input.scale": "abc"}, mergeErr: `input.scale: "abc" is not a number`},
		{name: "zero scale", overrides: map[string]string{"input.scale": "0"}, validErr: "lineside.input.scale: 0 is not positive"},
		{name: "bad std item", overrides: map[string]string{"input.std": "0.2,x"}, mergeErr: `input.std: "0.2,x": item 1`},
		{name: "zero std", overrides: map[string]string{"input.std": "0"}, validErr: "lineside.input.std"},
		{name: "mean count for gray", overrides: map[string]string{"input.mean": "0.1,0.2,0.3"}, validErr: "lineside.input.mean: \"0.1,0.2,0.3\" has 3 values; want 1 or 1 for gray"},
		{name: "bad window", overrides: map[string]string{"window": "ten"}, mergeErr: "window: "},
		{name: "unknown key", overrides: map[string]string{"lables": "a,b"}, mergeErr: "lables: unknown key; did you mean labels?"},
		{name: "prefixed key", overrides: map[string]string{"lineside.labels": "a,b"}, mergeErr: `lineside.labels: unknown key; did you mean labels? (overrides omit the "lineside." prefix)`},
		{name: "far unknown key", overrides: map[string]string{"colour_space": "x"}, mergeErr: "colour_space: unknown key"},
		{name: "ok label not in labels", overrides: map[string]string{"labels": "good,bad"}, validErr: `lineside.ok_label: "ok" is not one of the labels "good,bad"`},
		{name: "one label", overrides: map[string]string{"labels": "ok"}, validErr: `lineside.labels: "ok" has 1 class(es)`},
		{name: "duplicate label", overrides: map[string]string{"labels": "ok,spot,spot"}, validErr: `lineside.labels: "spot" appears twice`},
		{name: "bad task", overrides: map[string]string{"task": "segmentation"}, validErr: `lineside.task: "segmentation" is not`},
		{name: "bad output", overrides: map[string]string{"output": "sigmoid"}, validErr: `lineside.output: "sigmoid" is not probabilities or logits`},
		{name: "missing version", overrides: map[string]string{"version": ""}, validErr: "lineside.version: missing"},
		{
			name:      "failure prediction feature count mismatch",
			overrides: map[string]string{"task": "failure_prediction", "window": "16", "features": "a,b,c", "feature_mean": "1,2"},
			validErr:  `lineside.feature_mean: "1,2" has 2 values for 3 features`,
		},
		{
			name:      "failure prediction thresholds reversed",
			overrides: map[string]string{"task": "failure_prediction", "window": "16", "features": "a", "threshold.warn": "0.9", "threshold.alarm": "0.5"},
			validErr:  "lineside.threshold.warn: 0.9 is above threshold.alarm 0.5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := defectMeta("1.0.0")
			m, err := base.Merge(tt.overrides)
			if tt.mergeErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.mergeErr) {
					t.Fatalf("Merge error = %v, want %q", err, tt.mergeErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			err = m.Validate()
			if tt.validErr == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.validErr != "" && (err == nil || !strings.Contains(err.Error(), tt.validErr)) {
				t.Fatalf("Validate error = %v, want %q", err, tt.validErr)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
			if !reflect.DeepEqual(base, defectMeta("1.0.0")) {
				t.Errorf("Merge modified its receiver: %+v", base)
			}
		})
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	base := defectMeta("1.0.0")
	m, err := base.Merge(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Labels[0] = "changed"
	m.Input.Mean[0] = 9
	if base.Labels[0] != "ok" || base.Input.Mean[0] != 0.5 {
		t.Errorf("Merge result shares slices with its receiver")
	}
}
