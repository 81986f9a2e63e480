package synthetic

import (
	"math"
	"math/rand/v2"
)

// Part kinds the conveyor carries.
const (
	// PartWasher is a turned round washer with a centre hole.
	PartWasher = "washer"
	// PartPlate is a milled rectangular plate with two bolt holes.
	PartPlate = "plate"
	// PartMixed alternates washers and plates at random.
	PartMixed = "mixed"
)

// The scene is lit from the upper left: rims facing the light are bright,
// rims facing away are dark, and shadows fall to the lower right.
const lightX, lightY = -0.6, -0.8

// part is the geometry and surface finish of the part in one frame.
type part struct {
	kind     string
	cx, cy   float64 // centre in frame pixels
	cos, sin float64 // rotation of the part's u axis
	angle    float64
	r        float64 // washer outer radius; plate half length
	ri       float64 // washer hole radius; plate half width
	corner   float64 // plate corner radius
	holeR    float64 // plate bolt hole radius
	holeOff  float64 // plate bolt hole offset along u
	base     float64 // surface brightness
	markAmp  float64 // machining marks
	markFreq float64 // machining marks per pixel (washer rings)
	phase    float64
	sheen    float64 // anisotropic highlight strength
	sheenC   float64 // cos and sin of twice the highlight direction
	sheenS   float64
	rimAmp   float64 // chamfer highlight
	rimWidth float64
	salt     uint64
}

// draw fills p with a random part of the given kind ("mixed" picks one)
// centred near the middle of a w×h frame. It always draws the same number
// of values from r whatever the kind, so that the rest of the frame does not
// depend on it.
func (p *part) draw(r *rand.Rand, kind string, w, h int) {
	s := float64(min(w, h))
	pick := r.Float64()
	switch kind {
	case PartMixed:
		p.kind = PartWasher
		if pick < 0.5 {
			p.kind = PartPlate
		}
	default:
		p.kind = kind
	}
	p.cx = float64(w)/2 + uniform(r, -0.06, 0.06)*float64(w)
	p.cy = float64(h)/2 + uniform(r, -0.06, 0.06)*float64(h)
	p.angle = uniform(r, 0, 2*math.Pi)
	p.sin, p.cos = math.Sincos(p.angle)
	size, ratio, hole := uniform(r, 0.30, 0.37), r.Float64(), r.Float64()
	if p.kind == PartWasher {
		p.r = s * size
		p.ri = p.r * (0.28 + 0.14*ratio)
		p.corner, p.holeR, p.holeOff = 0, 0, 0
	} else {
		p.r = s * (size + 0.05)
		p.ri = p.r * (0.55 + 0.2*ratio)
		p.corner = s * 0.04
		p.holeR = p.ri * (0.16 + 0.08*hole)
		p.holeOff = p.r - p.ri*0.5
	}
	p.base = uniform(r, 135, 170)
	p.markAmp = uniform(r, 3, 7)
	p.markFreq = 2 * math.Pi / uniform(r, 2.5, 4.5)
	p.phase = uniform(r, 0, 2*math.Pi)
	p.sheen = uniform(r, 4, 14)
	sa := uniform(r, 0, 2*math.Pi)
	p.sheenS, p.sheenC = math.Sincos(sa)
	p.rimAmp = uniform(r, 18, 32)
	p.rimWidth = s * uniform(r, 0.010, 0.016)
	p.salt = r.Uint64()
}

// local maps frame coordinates to the part's (u, v) frame.
func (p *part) local(x, y float64) (u, v float64) {
	dx, dy := x-p.cx, y-p.cy
	return dx*p.cos + dy*p.sin, -dx*p.sin + dy*p.cos
}

// frame maps part coordinates (u, v) to frame coordinates.
func (p *part) frame(u, v float64) (x, y float64) {
	return p.cx + u*p.cos - v*p.sin, p.cy + u*p.sin + v*p.cos
}

// sdf is the signed distance from (x, y) to the part's outline, negative
// inside the material (holes count as outside).
func (p *part) sdf(x, y float64) float64 {
	if p.kind == PartWasher {
		dx, dy := x-p.cx, y-p.cy
		d := math.Sqrt(dx*dx + dy*dy)
		return math.Max(d-p.r, p.ri-d)
	}
	u, v := p.local(x, y)
	qx := math.Abs(u) - (p.r - p.corner)
	qy := math.Abs(v) - (p.ri - p.corner)
	out := math.Hypot(math.Max(qx, 0), math.Max(qy, 0))
	rect := out + math.Min(math.Max(qx, qy), 0) - p.corner
	du := math.Abs(u) - p.holeOff
	hole := math.Sqrt(du*du+v*v) - p.holeR
	return math.Max(rect, -hole)
}

// surface is the brightness of the bare material at (x, y), given the signed
// distance sd already computed there.
func (p *part) surface(x, y, sd float64) float64 {
	lum := p.base
	if p.kind == PartWasher {
		dx, dy := x-p.cx, y-p.cy
		d2 := dx*dx + dy*dy + 1e-9
		d := math.Sqrt(d2)
		lum += p.markAmp * math.Sin(d*p.markFreq+p.phase)
		c2, s2 := (dx*dx-dy*dy)/d2, 2*dx*dy/d2
		lum += p.sheen * (c2*p.sheenC + s2*p.sheenS)
	} else {
		u, v := p.local(x, y)
		lum += 2 * p.markAmp * (valueNoise(u*0.04, v*0.9, p.salt) - 0.5)
		lum += p.sheen * (u*p.sheenC + v*p.sheenS) / p.r
	}
	lum += 10 * (valueNoise(x/14, y/14, p.salt^0x5a5a) - 0.5)
	if sd > -p.rimWidth {
		nx, ny := p.normal(x, y)
		lum += p.rimAmp * (nx*lightX + ny*lightY)
	}
	return lum
}

// normal is the outward unit normal of the outline nearest to (x, y).
func (p *part) normal(x, y float64) (nx, ny float64) {
	const e = 0.5
	gx := p.sdf(x+e, y) - p.sdf(x-e, y)
	gy := p.sdf(x, y+e) - p.sdf(x, y-e)
	n := math.Hypot(gx, gy)
	if n == 0 {
		return 0, 0
	}
	return gx / n, gy / n
}
