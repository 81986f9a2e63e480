package eval_test

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera/synthetic"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/inference/eval"
	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sensors/sim"
)

// initORT initialises ONNX Runtime once per test binary.
func initORT(t *testing.T) {
	t.Helper()
	if err := inference.Init(inference.RuntimeConfig{Library: testutil.ORTLibrary(t)}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
}

func defectModel(t *testing.T) string {
	return testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx")
}
func pdmModel(t *testing.T) string { return testutil.Path(t, "models", "pdm-lstm", "pdm-lstm.onnx") }

// TestReduceKeepsDatasetImages checks that a 64×64 gray dataset image goes
// into the model unchanged: the Classifier's reduction (gray conversion
// skipped, INTER_AREA resize to the same size) must be the identity, or the
// Go figures would not measure the images the model was trained on.
func TestReduceKeepsDatasetImages(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 64*64)
	for i := range src {
		src[i] = byte(r.IntN(256))
	}
	img, err := gocv.NewMatFromBytes(64, 64, gocv.MatTypeCV8UC1, src)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	if err := inference.ReduceFrame(img, &dst, inference.ColorGray, 64, 64); err != nil {
		t.Fatal(err)
	}
	got, err := dst.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatal("reducing a 64×64 gray image to 64×64 gray changed its pixels")
	}
}

// TestDefectFigures checks the bookkeeping on a small set: the confusion
// matrix adds up and accuracy and recalls follow from it.
func TestDefectFigures(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	o := synthetic.DefaultDatasetOptions()
	o.N, o.Seed = 24, 9100
	if err := synthetic.WriteDefectDataset(dir, o); err != nil {
		t.Fatal(err)
	}
	r, err := eval.Run(defectModel(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	d := r.Defect
	if d == nil || r.Pdm != nil || r.Seed != 9100 {
		t.Fatalf("report %+v: want defect figures of seed 9100", r)
	}
	total, diag := 0, 0
	for i, row := range d.Confusion {
		rowSum := 0
		for j, v := range row {
			total, rowSum = total+v, rowSum+v
			if i == j {
				diag += v
			}
		}
		if rowSum != 6 {
			t.Errorf("class %s: %d images, want 6 (balanced set)", d.Labels[i], rowSum)
		}
		if want := float64(row[i]) / float64(rowSum); d.Recall[i] != want {
			t.Errorf("recall of %s %g, want %g", d.Labels[i], d.Recall[i], want)
		}
	}
	if total != 24 || diag != d.Correct || d.Accuracy != float64(diag)/24 {
		t.Errorf("confusion total %d, diagonal %d; result %d correct, accuracy %g", total, diag, d.Correct, d.Accuracy)
	}
	var table, lines bytes.Buffer
	r.WriteTable(&table)
	r.WriteLines(&lines, "defect-cnn/test")
	for _, want := range []string{"accuracy", "recall", "crack", "seed 9100"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(lines.String(), "quality: defect-cnn/test/accuracy value=") {
		t.Errorf("lines:\n%s", lines.String())
	}
}

// TestBadInput checks that every kind of unusable input is refused with an
// error naming the problem.
func TestBadInput(t *testing.T) {
	initORT(t)
	root := t.TempDir()
	defect := filepath.Join(root, "defect")
	o := synthetic.DefaultDatasetOptions()
	o.N, o.Seed = 8, 9101
	if err := synthetic.WriteDefectDataset(defect, o); err != nil {
		t.Fatal(err)
	}
	pdm := filepath.Join(root, "pdm")
	po := sim.DefaultDatasetOptions(50, 9102)
	po.Assets = 2
	if err := sim.WritePdmDataset(pdm, po); err != nil {
		t.Fatal(err)
	}
	copyDir := func(name string, edit func(dir string)) string {
		dir := filepath.Join(root, name)
		os.MkdirAll(dir, 0o755)
		for _, f := range []string{"meta.json", "images.npy", "labels.npy"} {
			b, _ := os.ReadFile(filepath.Join(defect, f))
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		edit(dir)
		return dir
	}
	rewrite := func(file, old, new string) func(string) {
		return func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, file))
			os.WriteFile(filepath.Join(dir, file), bytes.Replace(b, []byte(old), []byte(new), 1), 0o644)
		}
	}
	empty := filepath.Join(root, "empty")
	os.MkdirAll(empty, 0o755)
	cases := []struct {
		name, model, data string
		wants             []string
		is                error
	}{
		{"missing folder", defectModel(t), filepath.Join(root, "nope"), []string{"dataset", "nope", "no such file"}, nil},
		{"folder without meta.json", defectModel(t), empty, []string{"dataset", empty, "no meta.json"}, nil},
		{"unknown kind", defectModel(t), copyDir("kind", rewrite("meta.json", `"kind": "defect"`, `"kind": "audio"`)), []string{"kind \"audio\""}, nil},
		{"defect model on pdm data", defectModel(t), pdm, []string{"failure_prediction", "defect_classification"}, eval.ErrTaskMismatch},
		{"pdm model on defect data", pdmModel(t), defect, []string{"failure_prediction", "defect data"}, eval.ErrTaskMismatch},
		{"pdm data without eval sequences", pdmModel(t), pdm, []string{"no evaluation sequences", "--eval-span"}, nil},
		{"labels in another order", defectModel(t), copyDir("order", rewrite("meta.json", `"scratch",`, `"scratchy",`)), []string{"labels", "scratchy", "differ"}, nil},
		{"truncated images", defectModel(t), copyDir("trunc", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "images.npy"))
			os.WriteFile(filepath.Join(dir, "images.npy"), b[:len(b)/2], 0o644)
		}), []string{"images.npy"}, nil},
		{"missing labels", defectModel(t), copyDir("nolabels", func(dir string) { os.Remove(filepath.Join(dir, "labels.npy")) }), []string{"labels.npy"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := eval.Run(c.model, c.data)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
		})
	}
}

// TestPdmFigures runs the failure predictor over a few fresh lives through
// Run, as `lineside models eval` does, on the dataset folder and on its
// eval/ folder alone.
func TestPdmFigures(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	o := sim.DefaultDatasetOptions(0, 9103)
	o.Assets, o.EvalSpan = 3, 2*7*24*time.Hour
	if err := sim.WritePdmDataset(dir, o); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "eval")} {
		r, err := eval.Run(pdmModel(t), d)
		if err != nil {
			t.Fatal(err)
		}
		if r.Pdm == nil || r.Pdm.Failures == 0 || r.Pdm.Inferred == 0 || r.Pdm.Mismatches != 0 {
			t.Fatalf("%s: %+v", d, r.Pdm)
		}
		var b bytes.Buffer
		r.WriteTable(&b)
		if !strings.Contains(b.String(), "false alarms per asset-week") {
			t.Errorf("table:\n%s", b.String())
		}
	}
}
