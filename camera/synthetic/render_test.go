package synthetic

import (
	"bytes"
	"image"
	"testing"

	"gocv.io/x/gocv"
)

// render draws one frame with a fresh renderer and returns its bytes.
func render(t testing.TB, p Params, seed, index uint64, class int) ([]byte, Truth) {
	t.Helper()
	r, err := NewRenderer(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	var tr Truth
	if class < 0 {
		tr = r.Render(&dst, seed, index)
	} else {
		tr = r.RenderClass(&dst, seed, index, class)
	}
	if dst.Cols() != p.Width || dst.Rows() != p.Height || dst.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("frame %dx%d type %v, want %dx%d CV_8UC3", dst.Cols(), dst.Rows(), dst.Type(), p.Width, p.Height)
	}
	return dst.ToBytes(), tr
}

func TestRenderDeterministic(t *testing.T) {
	p := DefaultParams()
	p.DefectRate = 0.5
	a, ta := render(t, p, 5, 3, -1)
	b, tb := render(t, p, 5, 3, -1)
	if !bytes.Equal(a, b) || ta != tb {
		t.Fatal("seed 5 frame 3 rendered twice differs")
	}
	for _, other := range []struct{ seed, index uint64 }{{6, 3}, {5, 4}} {
		c, _ := render(t, p, other.seed, other.index, -1)
		if bytes.Equal(a, c) {
			t.Errorf("seed %d frame %d equals seed 5 frame 3", other.seed, other.index)
		}
	}
}

func TestRenderReusesRendererDeterministically(t *testing.T) {
	p := DefaultParams()
	r, err := NewRenderer(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	r.RenderClass(&dst, 9, 1, 3)
	r.Render(&dst, 9, 2)
	want, _ := render(t, p, 9, 2, -1)
	if !bytes.Equal(dst.ToBytes(), want) {
		t.Fatal("a frame depends on the frames rendered before it")
	}
}

// TestDefectsAreVisible renders every defect class next to its ok twin and
// checks that they differ only around the defect, on the part, and that the
// difference survives the reduction to the model's 64×64 gray input.
func TestDefectsAreVisible(t *testing.T) {
	p := DefaultParams()
	for index := uint64(0); index < 12; index++ {
		ok, tok := render(t, p, 21, index, 0)
		okSmall := modelInput(t, ok, p)
		for class := 1; class < len(Labels); class++ {
			t.Run(Labels[class], func(t *testing.T) {
				img, tr := render(t, p, 21, index, class)
				if tr.Label != Labels[class] || tr.Bounds != tok.Bounds || tr.Part != tok.Part {
					t.Fatalf("truth %+v does not match ok twin %+v", tr, tok)
				}
				if tr.Defect.Empty() || tr.Defect.Intersect(tr.Bounds).Empty() {
					t.Fatalf("defect box %v outside part %v", tr.Defect, tr.Bounds)
				}
				// Blur and the crack's start just outside the rim spread the
				// defect a few pixels beyond its box and the part.
				near := tr.Defect.Intersect(tr.Bounds.Inset(-6)).Inset(-6)
				changed := 0
				for i := 0; i < len(img); i++ {
					d := int(img[i]) - int(ok[i])
					if d == 0 {
						continue
					}
					if pt := image.Pt(i/3%p.Width, i/3/p.Width); !pt.In(near) {
						t.Fatalf("frame %d: pixel %v differs outside the defect %v", index, pt, near)
					}
					if d > 25 || d < -25 {
						changed++
					}
				}
				if changed < 20 {
					t.Errorf("frame %d: only %d channel values differ by more than 25", index, changed)
				}
				small := modelInput(t, img, p)
				if diff := maxDiff(small, okSmall); diff < 20 {
					t.Errorf("frame %d: 64x64 gray input differs by at most %d levels", index, diff)
				}
			})
		}
	}
}

func modelInput(t testing.TB, bgr []byte, p Params) []byte {
	t.Helper()
	frame, err := gocv.NewMatFromBytes(p.Height, p.Width, gocv.MatTypeCV8UC3, bgr)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	tmp, gray := gocv.NewMat(), gocv.NewMat()
	defer tmp.Close()
	defer gray.Close()
	ModelInput(frame, &tmp, &gray)
	if gray.Cols() != ModelInputSize || gray.Rows() != ModelInputSize || gray.Type() != gocv.MatTypeCV8UC1 {
		t.Fatalf("model input %dx%d type %v", gray.Cols(), gray.Rows(), gray.Type())
	}
	return gray.ToBytes()
}

func maxDiff(a, b []byte) int {
	m := 0
	for i := range a {
		m = max(m, int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return m
}

func TestRenderShiftParams(t *testing.T) {
	base, _ := render(t, DefaultParams(), 2, 0, 0)
	for _, tc := range []struct {
		name  string
		shift func(*Params)
	}{
		{"lighting", func(p *Params) { p.Lighting = 2 }},
		{"noise", func(p *Params) { p.Noise = 2 }},
		{"blur", func(p *Params) { p.Blur = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			tc.shift(&p)
			img, _ := render(t, p, 2, 0, 0)
			if bytes.Equal(img, base) {
				t.Fatalf("%s shift did not change the frame", tc.name)
			}
		})
	}
}

func TestRenderAllocations(t *testing.T) {
	r, err := NewRenderer(DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	var i uint64
	allocs := testing.AllocsPerRun(10, func() {
		r.RenderClass(&dst, 1, i, int(i%4))
		i++
	})
	if allocs > 2 {
		t.Errorf("%.0f allocations per frame, want at most 2", allocs)
	}
}

func BenchmarkRender(b *testing.B) {
	r, err := NewRenderer(DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		r.RenderClass(&dst, 1, i, int(i%4))
		i++
	}
}
