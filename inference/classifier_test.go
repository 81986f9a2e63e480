package inference

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"
)

func TestLoadClassifierErrors(t *testing.T) {
	initORT(t)
	tests := []struct {
		name      string
		path      string
		overrides map[string]string
		want      []string
	}{
		{name: "missing file", path: fixture(t, "missing.onnx"), want: []string{"no such file"}},
		{name: "not a model", path: fixture(t, "not-a-model.onnx"), want: []string{"load: ", "Protobuf parsing failed"}},
		{name: "rank 3 input", path: fixture(t, "bad-rank.onnx"), want: []string{`input "image" rank 3`, "want 4 (NCHW)"}},
		{name: "output size", path: fixture(t, "bad-output.onnx"), want: []string{"gives 3 score(s) per image, but lineside.labels has 4"}},
		{name: "wrong task", path: fixture(t, "wrong-task.onnx"), want: []string{`lineside.task is "failure_prediction", want defect_classification`}},
		{name: "labels count override", path: defectModel(t), overrides: map[string]string{"labels": "ok,scratch,spot"}, want: []string{"gives 4 score(s) per image, but lineside.labels has 3 (ok,scratch,spot)"}},
		{name: "color override", path: defectModel(t), overrides: map[string]string{"input.color": "rgb"}, want: []string{"has 1 channel(s) in NCHW layout, but lineside.input.color rgb needs 3"}},
		{name: "layout override", path: defectModel(t), overrides: map[string]string{"input.layout": "NHWC"}, want: []string{"has 64 channel(s) in NHWC layout"}},
		{name: "bad layout override", path: defectModel(t), overrides: map[string]string{"input.layout": "NCWH"}, want: []string{`lineside.input.layout: "NCWH" is not NCHW or NHWC`}},
		{name: "unknown override", path: defectModel(t), overrides: map[string]string{"treshold.warn": "0.5"}, want: []string{"override treshold.warn: unknown key; did you mean threshold.warn?"}},
		{name: "bad scale override", path: defectModel(t), overrides: map[string]string{"input.scale": "abc"}, want: []string{`override input.scale: "abc" is not a number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadClassifier(tt.path, ClassifierOptions{Overrides: tt.overrides})
			if err == nil {
				c.Close()
				t.Fatal("LoadClassifier succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "model "+tt.path+": ") {
				t.Errorf("error %q does not start with the file", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestClassifierAccessors(t *testing.T) {
	c := loadDefect(t)
	if got := c.InputShape(); !reflect.DeepEqual(got, []int64{1, 1, 64, 64}) {
		t.Errorf("InputShape() = %v", got)
	}
	if !reflect.DeepEqual(c.Labels(), []string{"ok", "scratch", "spot", "crack"}) || c.OKLabel() != "ok" {
		t.Errorf("Labels() = %v, OKLabel() = %q", c.Labels(), c.OKLabel())
	}
	if m := c.Metadata(); m.Version == "" || !reflect.DeepEqual(m, defectMeta(m.Version)) {
		t.Errorf("Metadata() = %+v", m)
	}
}

func TestClassify(t *testing.T) {
	c := loadDefect(t)
	for _, size := range [][2]int{{640, 480}, {64, 64}, {33, 17}} {
		img := conveyorFrame(t, size[0], size[1], 7)
		res, err := c.Classify(img)
		if err != nil {
			t.Fatal(err)
		}
		if res.Index < 0 || res.Index >= 4 || c.Labels()[res.Index] != res.Label || res.Scores[res.Index] != res.Score {
			t.Errorf("%v: inconsistent result %+v", size, res)
		}
		var sum float64
		for _, s := range res.Scores {
			if s < 0 || s > 1 || s > res.Score {
				t.Errorf("%v: score %v out of range or above the winner %v", size, s, res.Score)
			}
			sum += float64(s)
		}
		if !near(sum, 1, 1e-5) {
			t.Errorf("%v: scores %v sum to %v, want 1", size, res.Scores, sum)
		}
	}
	gray := uniformMat(t, 100, 80, gocv.MatTypeCV8UC1, 128)
	if _, err := c.Classify(gray); err != nil {
		t.Errorf("gray frame: %v", err)
	}
	bgra := uniformMat(t, 100, 80, gocv.MatTypeCV8UC4, 1, 2, 3, 255)
	if _, err := c.Classify(bgra); err != nil {
		t.Errorf("BGRA frame: %v", err)
	}
}

func TestClassifyBadFrames(t *testing.T) {
	c := loadDefect(t)
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := c.Classify(empty); !errors.Is(err, ErrBadFrame) {
		t.Errorf("empty frame: %v, want ErrBadFrame", err)
	}
	float := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV32FC1)
	defer float.Close()
	if _, err := c.Classify(float); !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), "pixel type") {
		t.Errorf("float frame: %v, want ErrBadFrame naming the pixel type", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Classify(conveyorFrame(t, 64, 64, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Classify after Close: %v, want ErrClosed", err)
	}
}

// bareSession is the reference model run directly through onnxruntime_go,
// with no lineside code between the caller and ONNX Runtime.
type bareSession struct {
	session       *ort.AdvancedSession
	input, output *ort.Tensor[float32]
}

func newBareSession(t testing.TB, path string) *bareSession {
	t.Helper()
	initORT(t)
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 64, 64))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 4))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewAdvancedSession(path, []string{"image"}, []string{"scores"}, []ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := &bareSession{session: s, input: in, output: out}
	t.Cleanup(func() {
		s.Destroy()
		in.Destroy()
		out.Destroy()
	})
	return b
}

func TestClassifyMatchesBareRuntime(t *testing.T) {
	c := loadDefect(t)
	bare := newBareSession(t, defectModel(t))
	for seed := uint64(1); seed <= 3; seed++ {
		res, err := c.Classify(conveyorFrame(t, 320, 240, seed))
		if err != nil {
			t.Fatal(err)
		}
		copy(bare.input.GetData(), c.input.GetData())
		if err := bare.session.Run(); err != nil {
			t.Fatal(err)
		}
		want := bare.output.GetData()
		for i := range want {
			if math.Abs(float64(res.Scores[i]-want[i])) > 1e-6 {
				t.Errorf("seed %d: Scores = %v, bare ONNX Runtime = %v", seed, res.Scores, want)
				break
			}
		}
	}
}

func TestClassifyNHWCLogits(t *testing.T) {
	initORT(t)
	c, err := LoadClassifier(fixture(t, "tiny-nhwc-rgb-logits.onnx"), ClassifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A uniform frame stays uniform whatever the resize, so the model's mean
	// over pixels is the normalised pixel itself: logits = x @ W + b with x
	// in RGB order (models/testdata/make_fixtures.py).
	b, g, r := 10.0, 200.0, 90.0
	img := uniformMat(t, 40, 30, gocv.MatTypeCV8UC3, uint8(b), uint8(g), uint8(r))
	res, err := c.Classify(img)
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{(r/255 - 0.485) / 0.229, (g/255 - 0.456) / 0.224, (b/255 - 0.406) / 0.225}
	w := [3][2]float64{{1.0, -1.0}, {0.5, 2.0}, {-2.0, 0.25}}
	logits := []float64{0.1, -0.2}
	for j := range logits {
		for i := range x {
			logits[j] += x[i] * w[i][j]
		}
	}
	den := math.Exp(logits[0]) + math.Exp(logits[1])
	want := []float64{math.Exp(logits[0]) / den, math.Exp(logits[1]) / den}
	for i := range want {
		if !near(float64(res.Scores[i]), want[i], 1e-5) {
			t.Fatalf("Scores = %v, want softmax(%v) = %v", res.Scores, logits, want)
		}
	}
	if wantLabel := []string{"ok", "defect"}[map[bool]int{true: 0, false: 1}[want[0] >= want[1]]]; res.Label != wantLabel {
		t.Errorf("Label = %q, want %q", res.Label, wantLabel)
	}
	kept := res.Clone()
	next, err := c.Classify(uniformMat(t, 8, 8, gocv.MatTypeCV8UC3, 250, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if &next.Scores[0] != &res.Scores[0] {
		t.Error("Classify did not reuse its score buffer")
	}
	if !near(float64(kept.Scores[0]), want[0], 1e-5) || near(float64(next.Scores[0]), want[0], 1e-3) {
		t.Errorf("Clone: kept %v, next frame %v; want kept = %v and next different", kept.Scores, next.Scores, want)
	}
}
