package inference

import (
	"testing"

	"gocv.io/x/gocv"
)

// benchFrame is the frame size the benchmarks classify: a VGA BGR camera
// frame, so the figure includes the gray conversion and the resize to 64x64.
const benchFrameW, benchFrameH = 640, 480

func TestClassifyAllocatesNothing(t *testing.T) {
	c := loadDefect(t)
	img := conveyorFrame(t, benchFrameW, benchFrameH, 3)
	if _, err := c.Classify(img); err != nil { // first frame sizes the buffers
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := c.Classify(img); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Classify allocates %v times per frame, want 0", allocs)
	}
}

// BenchmarkClassify measures one VGA BGR frame through pre-processing, ONNX
// Runtime and post-processing.
func BenchmarkClassify(b *testing.B) {
	c := loadDefect(b)
	img := conveyorFrame(b, benchFrameW, benchFrameH, 3)
	if _, err := c.Classify(img); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Classify(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassifyNative measures a frame already at the model's size and
// colour (64x64 gray): what Classify adds to ONNX Runtime besides the resize.
func BenchmarkClassifyNative(b *testing.B) {
	c := loadDefect(b)
	img := uniformMat(b, 64, 64, gocv.MatTypeCV8UC1, 90, 120, 200)
	if _, err := c.Classify(img); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Classify(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareRun measures ONNX Runtime alone on the same model and input,
// through a bare onnxruntime_go session: the limit Classify is compared to.
func BenchmarkBareRun(b *testing.B) {
	c := loadDefect(b)
	if _, err := c.Classify(conveyorFrame(b, benchFrameW, benchFrameH, 3)); err != nil {
		b.Fatal(err)
	}
	bare := newBareSession(b, defectModel(b))
	copy(bare.input.GetData(), c.input.GetData())
	b.ReportAllocs()
	for b.Loop() {
		if err := bare.session.Run(); err != nil {
			b.Fatal(err)
		}
	}
}
