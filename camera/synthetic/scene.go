package synthetic

import (
	"math"
	"math/rand/v2"
)

// scene is everything in a frame but the part: belt, light, optics, sensor.
type scene struct {
	beltBase, beltAmp, grainAmp float64
	beltShift                   float64
	beltSalt                    uint64
	shadowX, shadowY, shadowAmt float64
	level                       float64 // overall exposure
	gradX, gradY                float64 // lighting gradient across the frame
	vignette                    float64 // brightness lost in the corners
	tintB, tintR                float64 // colour of the light
	blur                        float64 // optical blur sigma in pixels
	noise                       float64 // sensor noise sigma in grey levels
}

// draw fills s with random conditions scaled by the shift parameters of p;
// k is the frame's scale relative to a 240-pixel-high frame.
func (s *scene) draw(r *rand.Rand, p *Params, k float64) {
	s.beltBase = uniform(r, 45, 70)
	s.beltAmp = uniform(r, 8, 16)
	s.grainAmp = uniform(r, 4, 10)
	s.beltShift = uniform(r, 0, 1e4)
	s.beltSalt = r.Uint64()
	off := uniform(r, 4, 8) * k
	s.shadowX, s.shadowY = -lightX*off, -lightY*off
	s.shadowAmt = uniform(r, 0.25, 0.45)
	s.level = math.Max(0.2, 1+p.Lighting*uniform(r, -0.18, 0.18))
	ga, gm := uniform(r, 0, 2*math.Pi), p.Lighting*uniform(r, 0, 0.3)
	s.gradY, s.gradX = math.Sincos(ga)
	s.gradX, s.gradY = s.gradX*gm, s.gradY*gm
	s.vignette = math.Min(0.8, p.Lighting*uniform(r, 0.1, 0.3))
	s.tintB, s.tintR = 1+uniform(r, -0.04, 0.04), 1+uniform(r, -0.04, 0.04)
	s.blur = uniform(r, 0.5, 1.0) + p.Blur
	s.noise = p.Noise * uniform(r, 1.5, 4)
}

// Colours of the materials as B, G, R factors on their brightness: a dark
// blue-grey rubber belt and bright, slightly cool steel.
const (
	beltB, beltG, beltR    = 1.06, 1.0, 0.9
	metalB, metalG, metalR = 1.02, 1.0, 0.97
)

// shade renders the sharp, noise-free frame into r.raw from the part, the
// scene and the two overlays.
func (r *Renderer) shade() {
	data, err := r.raw.DataPtrUint8()
	if err != nil {
		return
	}
	w, h := r.p.Width, r.p.Height
	p, s := &r.part, &r.scene
	// Parts never come closer to the belt than this, so pixels further away
	// are belt only and skip the surface model.
	reach := p.r + 2
	for y := range h {
		py := float64(y) + 0.5
		ny := py/float64(h) - 0.5
		for x := range w {
			px := float64(x) + 0.5
			i := y*w + x
			sd := reach
			if dx, dy := px-p.cx, py-p.cy; dx*dx+dy*dy < reach*reach*2.2 {
				sd = p.sdf(px, py)
			}
			cov := clamp(0.5-sd, 0, 1)
			var belt, metal float64
			if cov < 1 {
				belt = s.beltBase + s.beltAmp*(valueNoise((px+s.beltShift)*0.015, py*0.4, s.beltSalt)-0.5) +
					s.grainAmp*(hash2(int64(x)+int64(s.beltShift), int64(y), s.beltSalt)-0.5) +
					float64(r.dirt.px[i])
				qx, qy := px-s.shadowX-p.cx, py-s.shadowY-p.cy
				if qx*qx+qy*qy < (1.5*reach+10)*(1.5*reach+10) {
					sh := p.sdf(px-s.shadowX, py-s.shadowY)
					belt *= 1 - s.shadowAmt*(1-smoothstep(-3, 10, sh))
				}
			}
			if cov > 0 {
				metal = p.surface(px, py, sd) + float64(r.defect.px[i])
			}
			nx := px/float64(w) - 0.5
			light := s.level * (1 + s.gradX*nx + s.gradY*ny) * (1 - s.vignette*2*(nx*nx+ny*ny))
			bl, ml := belt*light*(1-cov), metal*light*cov
			o := 3 * i
			data[o] = byte(clamp(s.tintB*(bl*beltB+ml*metalB), 0, 255))
			data[o+1] = byte(clamp(bl*beltG+ml*metalG, 0, 255))
			data[o+2] = byte(clamp(s.tintR*(bl*beltR+ml*metalR), 0, 255))
		}
	}
}

// drawDirt scatters up to four small specks of dirt or swarf on the belt;
// they are not defects, and the part covers any under it.
func drawDirt(c *canvas, r *rand.Rand, w, h int, k float64) {
	c.reset(w, h)
	for range r.IntN(5) {
		rad := uniform(r, 1.5, 4) * k
		c.blob(uniform(r, 0, float64(w)), uniform(r, 0, float64(h)), rad, rad*uniform(r, 0.6, 1), 0, uniform(r, -30, 30))
	}
}
