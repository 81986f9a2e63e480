package inference

import (
	"image"
	"image/color"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/lineside/lineside/internal/testutil"
	"gocv.io/x/gocv"
)

// initORT initialises ONNX Runtime from the library `make setup` installed.
func initORT(t testing.TB) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := Init(RuntimeConfig{Library: testutil.ORTLibrary(t)}, log); err != nil {
		t.Fatalf("init onnx runtime: %v", err)
	}
}

// defectModel is the path of the reference defect CNN.
func defectModel(t testing.TB) string {
	return testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx")
}

// fixture is the path of a model under models/testdata.
func fixture(t testing.TB, name string) string {
	return testutil.Path(t, "models", "testdata", name)
}

// loadDefect loads the reference model and closes it when the test ends.
func loadDefect(t testing.TB) *Classifier {
	t.Helper()
	initORT(t)
	c, err := LoadClassifier(defectModel(t), ClassifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// conveyorFrame draws a w x h BGR frame like the synthetic camera's: a gray
// belt with noise, a bright part and a dark scratch across it.
func conveyorFrame(t testing.TB, w, h int, seed uint64) gocv.Mat {
	t.Helper()
	img := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	t.Cleanup(func() { img.Close() })
	rng := rand.New(rand.NewPCG(seed, 1))
	pix, err := img.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for i := range pix {
		pix[i] = uint8(90 + rng.IntN(30))
	}
	part := image.Rect(w/4, h/4, 3*w/4, 3*h/4)
	gocv.Rectangle(&img, part, color.RGBA{200, 200, 190, 0}, -1)
	gocv.Line(&img, part.Min.Add(image.Pt(5, 5)), part.Max.Sub(image.Pt(5, 5)), color.RGBA{30, 30, 30, 0}, 2)
	return img
}

// uniformMat returns a w x h Mat of the given type with every byte of pixel
// channel c set to px[c].
func uniformMat(t testing.TB, w, h int, typ gocv.MatType, px ...uint8) gocv.Mat {
	t.Helper()
	img := gocv.NewMatWithSize(h, w, typ)
	t.Cleanup(func() { img.Close() })
	pix, err := img.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for i := range pix {
		pix[i] = px[i%len(px)]
	}
	return img
}

// near reports whether a and b differ by at most tol.
func near(a, b, tol float64) bool {
	d := a - b
	return d <= tol && -d <= tol
}
