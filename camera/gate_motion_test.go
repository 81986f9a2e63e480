package camera

import (
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"
)

// conveyorScene renders a 640x480 belt with a textured background, sensor
// noise (OpenCV RandN, different every frame), and a part at x (no part when x < 0).
func conveyorScene(t testing.TB, dst *gocv.Mat, x int) {
	t.Helper()
	dst.SetTo(gocv.NewScalar(70, 75, 80, 0))
	for i := 0; i < 640; i += 40 { // belt slats
		gocv.Line(dst, image.Pt(i, 0), image.Pt(i, 479), color.RGBA{50, 55, 60, 0}, 3)
	}
	if x >= 0 {
		gocv.Rectangle(dst, image.Rect(x, 180, x+120, 300), color.RGBA{210, 200, 190, 0}, -1)
		gocv.Circle(dst, image.Pt(x+60, 240), 25, color.RGBA{40, 40, 40, 0}, -1)
	}
	noise := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer noise.Close()
	gocv.RandN(&noise, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(6, 6, 6, 0))
	gocv.Add(*dst, noise, dst)
}

func TestMotionGateStaticSceneSkipsMovingPartPasses(t *testing.T) {
	g, err := NewGate(GateConfig{Motion: MotionConfig{Enabled: true, Threshold: DefaultMotionThreshold, MinArea: DefaultMotionMinArea}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f := &Frame{Mat: gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)}
	defer f.Mat.Close()
	seq := uint64(0)
	run := func(n int, x func(i int) int) (passed int) {
		for i := 0; i < n; i++ {
			conveyorScene(t, &f.Mat, x(i))
			seq++
			f.Seq = seq
			if g.Admit(f) {
				passed++
			}
		}
		return passed
	}
	// The first frame has nothing to compare with and is admitted; then a
	// static scene with sensor noise must not be.
	if p := run(20, func(int) int { return -1 }); p != 1 {
		t.Fatalf("static empty belt: %d of 20 frames admitted, want only the first", p)
	}
	// A part moving 12 px per frame across the belt is motion on every frame.
	if p := run(30, func(i int) int { return 50 + 12*i }); p != 30 {
		t.Fatalf("moving part: %d of 30 frames admitted, want 30", p)
	}
	// The part stops: the first still frame differs from the last moving one,
	// the rest are static again.
	if p := run(20, func(int) int { return 300 }); p != 1 {
		t.Fatalf("stopped part: %d of 20 frames admitted, want 1", p)
	}
	if n := g.Skipped(SkipMotion); n != 19+19 {
		t.Fatalf("skipped motion %d, want 38", n)
	}
}

func TestMotionGateAllocatesNothing(t *testing.T) {
	g, _ := NewGate(GateConfig{Motion: MotionConfig{Enabled: true, Threshold: 25, MinArea: 0.01}, MaxRate: 1000})
	defer g.Close()
	a := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	b := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer a.Close()
	defer b.Close()
	conveyorScene(t, &a, 100)
	conveyorScene(t, &b, 200)
	f := &Frame{Mat: a}
	g.Admit(f)
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		i++
		f.Seq = uint64(i)
		if i%2 == 0 {
			f.Mat = a
		} else {
			f.Mat = b
		}
		g.Admit(f)
	})
	if allocs != 0 {
		t.Fatalf("Admit with the motion gate allocates %v times per frame, want 0", allocs)
	}
}
