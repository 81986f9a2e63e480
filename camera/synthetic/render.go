package synthetic

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Params shape the rendered scene. The zero value is not useful; start from
// DefaultParams. The shift parameters (Lighting, Noise, Blur) move the
// scene away from the conditions a model was trained on, for robustness
// tests.
type Params struct {
	// Width and Height are the frame size in pixels, 64–4096 (default 320×240).
	Width, Height int
	// DefectRate is the share of defective parts in [0, 1] used by Render
	// (default 0.1); the three defect classes are equally likely.
	DefectRate float64
	// Parts is PartWasher, PartPlate or PartMixed (default PartMixed).
	Parts string
	// Lighting scales the frame-to-frame lighting variation: brightness
	// level, gradient and vignetting (default 1; 0 is flat, even light).
	Lighting float64
	// Noise scales the sensor noise (default 1; 0 is noise-free).
	Noise float64
	// Blur is extra Gaussian blur sigma in pixels on top of the lens blur
	// every frame has (default 0).
	Blur float64
}

// Defaults of Params.
const (
	DefaultWidth      = 320
	DefaultHeight     = 240
	DefaultDefectRate = 0.1
)

// DefaultParams returns the parameters of the demo camera.
func DefaultParams() Params {
	return Params{Width: DefaultWidth, Height: DefaultHeight, DefectRate: DefaultDefectRate,
		Parts: PartMixed, Lighting: 1, Noise: 1}
}

// Validate reports the first parameter outside its range, naming it as the
// source URL does.
func (p Params) Validate() error {
	switch {
	case p.Width < 64 || p.Width > 4096:
		return fmt.Errorf("width %d: must be between 64 and 4096", p.Width)
	case p.Height < 64 || p.Height > 4096:
		return fmt.Errorf("height %d: must be between 64 and 4096", p.Height)
	case !(p.DefectRate >= 0 && p.DefectRate <= 1):
		return fmt.Errorf("defect_rate %g: must be between 0 and 1", p.DefectRate)
	case p.Parts != PartMixed && p.Parts != PartWasher && p.Parts != PartPlate:
		return fmt.Errorf("parts %q: must be %s, %s or %s", p.Parts, PartMixed, PartWasher, PartPlate)
	case !(p.Lighting >= 0 && p.Lighting <= 4):
		return fmt.Errorf("lighting %g: must be between 0 and 4", p.Lighting)
	case !(p.Noise >= 0 && p.Noise <= 10):
		return fmt.Errorf("noise %g: must be between 0 and 10", p.Noise)
	case !(p.Blur >= 0 && p.Blur <= 10):
		return fmt.Errorf("blur %g: must be between 0 and 10", p.Blur)
	}
	return nil
}

// Renderer draws frames. It keeps its buffers between frames, so rendering
// allocates nothing once dst has the right size. A Renderer is not safe for
// concurrent use; Close releases its OpenCV memory.
type Renderer struct {
	p      Params
	st     *streams
	part   part
	scene  scene
	defect canvas
	dirt   canvas
	raw    gocv.Mat // the sharp, noise-free frame before optics and sensor
}

// NewRenderer validates p and returns a renderer for it.
func NewRenderer(p Params) (*Renderer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Renderer{p: p, st: newStreams(), raw: gocv.NewMatWithSize(p.Height, p.Width, gocv.MatTypeCV8UC3)}, nil
}

// Params returns the parameters the renderer was built with.
func (r *Renderer) Params() Params { return r.p }

// Close releases the renderer's OpenCV memory.
func (r *Renderer) Close() error { return r.raw.Close() }

// Render draws frame index of seed into dst as a BGR image of the
// configured size; whether the part is defective, and how, follows
// DefectRate.
func (r *Renderer) Render(dst *gocv.Mat, seed, index uint64) Truth {
	r.st.reset(seed, index)
	class := 0
	if r.st.label.Float64() < r.p.DefectRate {
		class = 1 + r.st.label.IntN(len(Labels)-1)
	}
	return r.draw(dst, seed, index, class)
}

// RenderClass draws frame index of seed with a part of the given class (an
// index into Labels). Everything but the defect is the same as in the frame
// Render draws for seed and index, so a defective frame and its ok twin
// differ only where the defect is. It panics on a class out of range.
func (r *Renderer) RenderClass(dst *gocv.Mat, seed, index uint64, class int) Truth {
	if class < 0 || class >= len(Labels) {
		panic(fmt.Sprintf("synthetic: class %d out of range", class))
	}
	r.st.reset(seed, index)
	return r.draw(dst, seed, index, class)
}

func (r *Renderer) draw(dst *gocv.Mat, seed, index uint64, class int) Truth {
	w, h := r.p.Width, r.p.Height
	k := float64(min(w, h)) / 240
	r.part.draw(r.st.scene, r.p.Parts, w, h)
	r.scene.draw(r.st.scene, &r.p, k)
	drawDirt(&r.dirt, r.st.scene, w, h, k)
	r.defect.reset(w, h)
	switch Labels[class] {
	case LabelScratch:
		drawScratch(&r.defect, &r.part, r.st.defect, k)
	case LabelSpot:
		drawSpot(&r.defect, &r.part, r.st.defect, k)
	case LabelCrack:
		drawCrack(&r.defect, &r.part, r.st.defect, k)
	}
	r.shade()
	gocv.GaussianBlur(r.raw, dst, image.Point{}, r.scene.blur, r.scene.blur, gocv.BorderReflect101)
	r.addNoise(dst)
	return r.part.truth(seed, index, class, r.defect.box)
}

// addNoise adds signal-dependent Gaussian sensor noise to every channel.
func (r *Renderer) addNoise(dst *gocv.Mat) {
	sigma := r.scene.noise
	if sigma <= 0 {
		return
	}
	data, err := dst.DataPtrUint8()
	if err != nil {
		return
	}
	rng := r.st.noise
	for i, v := range data {
		f := float64(v)
		f += gauss4(rng.Uint64()) * sigma * (0.6 + f*(0.8/255))
		data[i] = uint8(clamp(math.Round(f), 0, 255))
	}
}
