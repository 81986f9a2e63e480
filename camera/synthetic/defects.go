package synthetic

import (
	"image"
	"math"
	"math/rand/v2"
)

// canvas is a float overlay of brightness offsets the size of the frame,
// drawn with anti-aliased primitives and reused across frames.
type canvas struct {
	w, h int
	px   []float32
	box  image.Rectangle // pixels touched since the last clear
}

func (c *canvas) reset(w, h int) {
	if c.w != w || c.h != h {
		c.w, c.h, c.px = w, h, make([]float32, w*h)
	}
	clear(c.px)
	c.box = image.Rectangle{}
}

// area clips the box around (x0, y0)–(x1, y1) grown by pad to the canvas and
// records it as touched.
func (c *canvas) area(x0, y0, x1, y1, pad float64) image.Rectangle {
	r := image.Rect(int(math.Floor(math.Min(x0, x1)-pad)), int(math.Floor(math.Min(y0, y1)-pad)),
		int(math.Ceil(math.Max(x0, x1)+pad))+1, int(math.Ceil(math.Max(y0, y1)+pad))+1)
	r = r.Intersect(image.Rect(0, 0, c.w, c.h))
	c.box = c.box.Union(r)
	return r
}

// segment draws a line from (x0, y0) to (x1, y1) whose half width tapers
// from hw0 to hw1. Where strokes overlap the stronger one wins, so joints of
// a polyline are not darkened twice.
func (c *canvas) segment(x0, y0, x1, y1, hw0, hw1, amp float64) {
	r := c.area(x0, y0, x1, y1, math.Max(hw0, hw1)+1)
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy + 1e-12
	for y := r.Min.Y; y < r.Max.Y; y++ {
		py := float64(y) + 0.5
		row := c.px[y*c.w : (y+1)*c.w]
		for x := r.Min.X; x < r.Max.X; x++ {
			px := float64(x) + 0.5
			t := clamp(((px-x0)*dx+(py-y0)*dy)/l2, 0, 1)
			ex, ey := px-(x0+t*dx), py-(y0+t*dy)
			cov := clamp(hw0+(hw1-hw0)*t+0.5-math.Sqrt(ex*ex+ey*ey), 0, 1)
			if v := float32(amp * cov); math.Abs(float64(v)) > math.Abs(float64(row[x])) {
				row[x] = v
			}
		}
	}
}

// blob adds a soft-edged ellipse with radii rx, ry rotated by angle.
func (c *canvas) blob(cx, cy, rx, ry, angle, amp float64) {
	ext := 1.2 * math.Max(rx, ry)
	r := c.area(cx, cy, cx, cy, ext)
	s, co := math.Sincos(angle)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dy := float64(y) + 0.5 - cy
		row := c.px[y*c.w : (y+1)*c.w]
		for x := r.Min.X; x < r.Max.X; x++ {
			dx := float64(x) + 0.5 - cx
			u, v := (dx*co+dy*s)/rx, (-dx*s+dy*co)/ry
			q := math.Sqrt(u*u + v*v)
			row[x] += float32(amp * (1 - smoothstep(0.55, 1.15, q)))
		}
	}
}

// surfacePoint draws a point on the part's material at least margin pixels
// from any edge.
func surfacePoint(p *part, r *rand.Rand, margin float64) (x, y float64) {
	for range 32 {
		if p.kind == PartWasher {
			rad := uniform(r, p.ri+margin, p.r-margin)
			s, c := math.Sincos(uniform(r, 0, 2*math.Pi))
			x, y = p.cx+rad*c, p.cy+rad*s
		} else {
			x, y = p.frame(uniform(r, -p.r, p.r), uniform(r, -p.ri, p.ri))
		}
		if p.sdf(x, y) < -margin {
			return x, y
		}
	}
	if p.kind == PartWasher {
		return p.cx + (p.ri+p.r)/2, p.cy
	}
	return p.cx, p.cy
}

// drawScratch draws one to four long, straight or gently curved score
// marks that run side by side in one direction, as a tool or a burr dragged
// across the face leaves them. Most are burnished and catch the light
// (bright); the rest are sets of two or more shallow grooves, light grey
// against the metal and far fainter than a crack. They keep one width along
// their length and are wide enough to stay visible through an extra pixel
// of blur.
func drawScratch(c *canvas, p *part, r *rand.Rand, k float64) {
	x, y := surfacePoint(p, r, 4*k)
	theta := uniform(r, 0, math.Pi)
	length := uniform(r, 0.9, 1.6) * p.r
	bend := uniform(r, -0.06, 0.06) * length
	hw := uniform(r, 1.4, 1.9) * k
	amp := uniform(r, 70, 100)
	n := 1
	if u := r.Float64(); u < 0.08 {
		n = 4
	} else if u < 0.25 {
		n = 3
	} else if u < 0.55 {
		n = 2
	}
	if r.Float64() < 0.2 {
		amp, n = -uniform(r, 35, 50), max(n, 2)
	}
	gap := uniform(r, 4, 8) * k
	for i := range n {
		s, co := math.Sincos(theta + float64(i)*uniform(r, -0.03, 0.03))
		off := float64(i) * gap * uniform(r, 0.8, 1.2)
		ox, oy := x-s*off, y+co*off
		half := length / 2 * (1 - 0.35*float64(i)*r.Float64())
		a := amp * uniform(r, 0.8, 1)
		const steps = 8
		px, py := ox-co*half, oy-s*half
		for j := 1; j <= steps; j++ {
			t := float64(j)/steps*2 - 1
			b := bend * (1 - t*t)
			qx, qy := ox+co*half*t-s*b, oy+s*half*t+co*b
			c.segment(px, py, qx, qy, hw, hw, a)
			px, py = qx, qy
		}
	}
}

// drawSpot draws a stain or a dent: a dark soft blob, for dents with a
// bright crescent on the side facing the light.
func drawSpot(c *canvas, p *part, r *rand.Rand, k float64) {
	rad := uniform(r, 8, 14) * k
	x, y := surfacePoint(p, r, rad)
	ry := rad * uniform(r, 0.65, 1)
	angle := uniform(r, 0, math.Pi)
	c.blob(x, y, rad, ry, angle, -uniform(r, 80, 115))
	if r.Float64() < 0.5 {
		c.blob(x+lightX*0.55*rad, y+lightY*0.55*rad, 0.6*rad, 0.45*ry, angle, uniform(r, 30, 50))
	}
	if r.Float64() < 0.3 {
		s, co := math.Sincos(uniform(r, 0, 2*math.Pi))
		c.blob(x+co*0.8*rad, y+s*0.8*rad, 0.6*rad, 0.6*ry, angle, -uniform(r, 30, 50))
	}
}

// drawCrack draws a dark, jagged fracture that starts at the part's outer
// edge or at a hole, runs into the material and branches once or twice. It
// is widest where it opens at the edge and narrows towards its tip.
func drawCrack(c *canvas, p *part, r *rand.Rand, k float64) {
	var x, y, dir, length float64
	fromHole := r.Float64() < 0.35
	if p.kind == PartWasher {
		a := uniform(r, 0, 2*math.Pi)
		s, co := math.Sincos(a)
		x, y, dir = p.cx+(p.r+k)*co, p.cy+(p.r+k)*s, a+math.Pi
		if fromHole {
			x, y, dir = p.cx+(p.ri-k)*co, p.cy+(p.ri-k)*s, a
		}
		length = uniform(r, 0.7, 1.0) * (p.r - p.ri)
	} else {
		side := r.IntN(4)
		along := uniform(r, -0.7, 0.7)
		var u, v, du, dv float64
		switch side {
		case 0, 1:
			u, v, du, dv = along*p.r, p.ri+k, 0, -1
		default:
			u, v, du, dv = p.r+k, along*p.ri, -1, 0
		}
		if side%2 == 1 {
			u, v, du, dv = -u, -v, -du, -dv
		}
		length = uniform(r, 0.6, 1.1) * p.ri
		if fromHole {
			a := along * math.Pi
			s, co := math.Sincos(a)
			hu := p.holeOff
			if side%2 == 1 {
				hu = -hu
			}
			u, v, du, dv = hu+(p.holeR-k)*co, (p.holeR-k)*s, co, s
			length = uniform(r, 0.5, 0.8) * p.ri
		}
		x, y = p.frame(u, v)
		dir = p.angle + math.Atan2(dv, du)
	}
	hw := uniform(r, 2.2, 3.0) * k
	amp := -uniform(r, 125, 165)
	step := uniform(r, 3, 5) * k
	steps := max(4, int(length/step))
	forkA, forkB := 1+r.IntN(steps-2), -1
	if r.Float64() < 0.6 {
		forkB = 1 + r.IntN(steps-1)
	}
	main := dir
	for i := range steps {
		dir = main + 0.5*(dir-main) + uniform(r, -0.75, 0.75)
		s, co := math.Sincos(dir)
		w0 := hw * (1 - 0.55*float64(i)/float64(steps)) * uniform(r, 0.8, 1.1)
		w1 := hw * (1 - 0.55*float64(i+1)/float64(steps))
		nx, ny := x+co*step, y+s*step
		c.segment(x, y, nx, ny, w0, w1, amp)
		x, y = nx, ny
		if i == forkA || i == forkB {
			fork(c, r, x, y, dir+sign(r)*uniform(r, 0.5, 1.1), step, steps-i, math.Max(w1*0.75, 1.2*k), amp)
		}
	}
}

// fork draws an unbranched jagged side crack of up to n steps.
func fork(c *canvas, r *rand.Rand, x, y, dir, step float64, n int, hw, amp float64) {
	n = max(3, int(float64(n)*uniform(r, 0.4, 0.7)))
	main := dir
	for i := range n {
		dir = main + 0.5*(dir-main) + uniform(r, -0.7, 0.7)
		s, co := math.Sincos(dir)
		w1 := hw * (1 - 0.6*float64(i+1)/float64(n))
		nx, ny := x+co*step, y+s*step
		c.segment(x, y, nx, ny, hw*(1-0.6*float64(i)/float64(n)), w1, amp)
		x, y = nx, ny
	}
}

func sign(r *rand.Rand) float64 {
	if r.IntN(2) == 0 {
		return -1
	}
	return 1
}
