package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSimDatasetThenModelsEval writes a small dataset of each kind with
// `lineside sim dataset` and measures the reference models on it with
// `lineside models eval`, as scripts/make-models.sh does.
func TestSimDatasetThenModelsEval(t *testing.T) {
	dir := t.TempDir()
	defect, pdm := filepath.Join(dir, "defect"), filepath.Join(dir, "pdm")
	steps := []struct {
		args  []string
		wants []string
	}{
		{[]string{"sim", "dataset", "--kind", "defect", "--out", defect, "--n", "20", "--seed", "9200", "--noise", "2"},
			[]string{"images.npy", "labels.npy", "meta.json"}},
		{[]string{"models", "eval", "--model", "models/defect-cnn/defect-cnn.onnx", "--data", defect},
			[]string{"accuracy", "true \\ predicted", "crack", "recall", "seed 9200", "noise 2"}},
		{[]string{"models", "eval", "--model", "models/defect-cnn/defect-cnn.onnx", "--data", defect, "--format", "lines"},
			[]string{"quality: defect-cnn/defect/accuracy value=", "quality: defect-cnn/defect/recall.crack value="}},
		{[]string{"sim", "dataset", "--kind", "pdm", "--out", pdm, "--n", "60", "--seed", "9201", "--assets", "3", "--eval-span", "336h"},
			[]string{"windows.npy", "targets.npy", "eval/samples.npy"}},
		{[]string{"models", "eval", "--model", "models/pdm-lstm/pdm-lstm.onnx", "--data", pdm},
			[]string{"failures warned >= 1 h ahead", "median warning lead", "false alarms per asset-week"}},
	}
	for _, s := range steps {
		code, out := runOnce(t, 60*time.Second, s.args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d:\n%s", s.args, code, out)
		}
		for _, w := range s.wants {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", s.args, w, out)
			}
		}
	}
}

// TestSimDatasetAndModelsEvalRefuseBadInput checks the command lines that
// must fail, each with a message naming the problem.
func TestSimDatasetAndModelsEvalRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	defect := filepath.Join(dir, "defect")
	if code, out := runOnce(t, 30*time.Second, "sim", "dataset", "--kind", "defect", "--out", defect, "--n", "4"); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out := filepath.Join(dir, "x")
	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"unknown kind", []string{"sim", "dataset", "--kind", "audio", "--out", out}, exitUsage, []string{`"audio"`, "defect, pdm"}},
		{"no out", []string{"sim", "dataset", "--kind", "defect"}, exitUsage, []string{"--out"}},
		{"unknown option", []string{"sim", "dataset", "--kind", "defect", "--out", out, "--lightning", "2"}, exitUsage, []string{"--lightning"}},
		{"option of the other kind", []string{"sim", "dataset", "--kind", "pdm", "--out", out, "--blur", "1"}, exitUsage, []string{"--blur", "defect only"}},
		{"impossible lighting", []string{"sim", "dataset", "--kind", "defect", "--out", out, "--lighting", "9"}, exitFailure, []string{"lighting 9"}},
		{"impossible ok share", []string{"sim", "dataset", "--kind", "defect", "--out", out, "--ok-share", "2"}, exitFailure, []string{"ok-share 2"}},
		{"zero images", []string{"sim", "dataset", "--kind", "defect", "--out", out, "--n", "0"}, exitFailure, []string{"n 0"}},
		{"impossible regime mix", []string{"sim", "dataset", "--kind", "pdm", "--out", out, "--regime-mix", "2"}, exitFailure, []string{"regime mix 2"}},
		{"unreadable dataset", []string{"models", "eval", "--model", "models/defect-cnn/defect-cnn.onnx", "--data", filepath.Join(dir, "nope")},
			exitFailure, []string{"dataset", filepath.Join(dir, "nope")}},
		{"task mismatch", []string{"models", "eval", "--model", "models/pdm-lstm/pdm-lstm.onnx", "--data", defect},
			exitFailure, []string{"failure_prediction", "defect_classification"}},
		{"bad format", []string{"models", "eval", "--model", "m", "--data", defect, "--format", "xml"}, exitUsage, []string{"--format"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, got := runOnce(t, 30*time.Second, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, got)
			}
			for _, w := range c.wants {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
