package inference

import (
	"testing"

	"gocv.io/x/gocv"
)

// norm is the hand-computed normalisation of one byte.
func norm(p uint8, scale, mean, std float64) float32 {
	return float32((float64(p)*scale - mean) / std)
}

func TestFillNCHWGray(t *testing.T) {
	spec := InputSpec{Layout: LayoutNCHW, Color: ColorGray, Scale: 1.0 / 255, Mean: []float64{0.5}, Std: []float64{0.25}}
	// A 3x2 gray image, row-major.
	pix := []byte{0, 51, 102, 153, 204, 255}
	dst := make([]float32, 6)
	newNormalizer(spec, 1).fillNCHW(dst, pix, 6)
	want := []float32{-2, -1.2, -0.4, 0.4, 1.2, 2}
	for i := range want {
		if !near(float64(dst[i]), float64(want[i]), 1e-6) {
			t.Fatalf("NCHW gray = %v, want %v", dst, want)
		}
	}
}

func TestFillNHWCRGBFromBGR(t *testing.T) {
	spec := InputSpec{Layout: LayoutNHWC, Color: ColorRGB, Scale: 1.0 / 255,
		Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	// Two BGR pixels.
	pix := []byte{10, 20, 30, 200, 100, 0}
	dst := make([]float32, 6)
	newNormalizer(spec, 3).fillNHWC(dst, pix, 2)
	s := 1.0 / 255
	want := []float32{
		norm(30, s, 0.485, 0.229), norm(20, s, 0.456, 0.224), norm(10, s, 0.406, 0.225),
		norm(0, s, 0.485, 0.229), norm(100, s, 0.456, 0.224), norm(200, s, 0.406, 0.225),
	}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("NHWC rgb = %v, want %v", dst, want)
		}
	}

	// The same pixels in NCHW with bgr order: planes B, G, R, no swap.
	spec.Layout, spec.Color = LayoutNCHW, ColorBGR
	newNormalizer(spec, 3).fillNCHW(dst, pix, 2)
	want = []float32{
		norm(10, s, 0.485, 0.229), norm(200, s, 0.485, 0.229),
		norm(20, s, 0.456, 0.224), norm(100, s, 0.456, 0.224),
		norm(30, s, 0.406, 0.225), norm(0, s, 0.406, 0.225),
	}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("NCHW bgr = %v, want %v", dst, want)
		}
	}

	// A gray frame (stride 1) feeds every channel; BGRA (stride 4) skips alpha.
	newNormalizer(InputSpec{Color: ColorRGB, Scale: 1, Mean: []float64{0}, Std: []float64{1}}, 1).fillNHWC(dst, []byte{7, 9}, 2)
	if want := []float32{7, 7, 7, 9, 9, 9}; [6]float32(dst) != [6]float32(want) {
		t.Fatalf("gray into rgb = %v, want %v", dst, want)
	}
	newNormalizer(InputSpec{Color: ColorRGB, Scale: 1, Mean: []float64{0}, Std: []float64{1}}, 4).fillNHWC(dst, []byte{1, 2, 3, 255, 4, 5, 6, 255}, 2)
	if want := []float32{3, 2, 1, 6, 5, 4}; [6]float32(dst) != [6]float32(want) {
		t.Fatalf("BGRA into rgb = %v, want %v", dst, want)
	}
}

// TestPreprocessDefectCNN checks the tensor the reference model is fed: a
// 64x64 gray frame needs no resize, so every value is the hand-computed
// normalisation (p/255 - 0.5) / 0.25 of its pixel.
func TestPreprocessDefectCNN(t *testing.T) {
	c := loadDefect(t)
	img := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC1)
	defer img.Close()
	pix, err := img.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for i := range pix {
		pix[i] = uint8((i*7 + i/64) % 256)
	}
	if _, err := c.Classify(img); err != nil {
		t.Fatal(err)
	}
	got := c.input.GetData()
	if len(got) != 64*64 {
		t.Fatalf("input has %d values, want %d", len(got), 64*64)
	}
	for i, p := range pix {
		if want := (float64(p)/255 - 0.5) / 0.25; !near(float64(got[i]), want, 1e-6) {
			t.Fatalf("input[%d] = %v for pixel %d, want %v", i, got[i], p, want)
		}
	}

	// A uniform BGR frame of another size: the gray conversion and the resize
	// keep it uniform, and equal B=G=R keeps its value.
	if _, err := c.Classify(uniformMat(t, 300, 200, gocv.MatTypeCV8UC3, 100)); err != nil {
		t.Fatal(err)
	}
	want := (100.0/255 - 0.5) / 0.25
	for i, v := range c.input.GetData() {
		if !near(float64(v), want, 1e-6) {
			t.Fatalf("uniform BGR frame: input[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestSoftmaxArgmax(t *testing.T) {
	x := []float32{1000, 1000, 999}
	softmax(x)
	if !near(float64(x[0]), float64(x[1]), 0) || x[2] >= x[0] || !near(float64(x[0]+x[1]+x[2]), 1, 1e-6) {
		t.Errorf("softmax of large logits = %v", x)
	}
	if i, v := argmax([]float32{0.1, 0.7, 0.7, 0.2}); i != 1 || v != 0.7 {
		t.Errorf("argmax = %d, %v; want the first maximum", i, v)
	}
	if i, _ := argmax(nil); i != -1 {
		t.Errorf("argmax(nil) = %d, want -1", i)
	}
}

func TestReduceFrame(t *testing.T) {
	img := conveyorFrame(t, 320, 240, 5)
	dst := gocv.NewMat()
	defer dst.Close()
	if err := ReduceFrame(img, &dst, ColorGray, 64, 64); err != nil {
		t.Fatal(err)
	}
	if dst.Rows() != 64 || dst.Cols() != 64 || dst.Type() != gocv.MatTypeCV8UC1 {
		t.Fatalf("gray reduction: %dx%d %v", dst.Cols(), dst.Rows(), dst.Type())
	}
	// The classifier's tensor is exactly the normalised reduced frame.
	c := loadDefect(t)
	if _, err := c.Classify(img); err != nil {
		t.Fatal(err)
	}
	pix, err := dst.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pix {
		if want := norm(p, 1.0/255, 0.5, 0.25); c.input.GetData()[i] != want {
			t.Fatalf("tensor[%d] = %v, want %v from reduced pixel %d", i, c.input.GetData()[i], want, p)
		}
	}
	if err := ReduceFrame(img, &dst, ColorRGB, 8, 6); err != nil {
		t.Fatal(err)
	}
	if dst.Rows() != 6 || dst.Cols() != 8 || dst.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("colour reduction: %dx%d %v", dst.Cols(), dst.Rows(), dst.Type())
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if err := ReduceFrame(empty, &dst, ColorGray, 8, 8); err == nil {
		t.Error("ReduceFrame of an empty Mat succeeded")
	}
}
