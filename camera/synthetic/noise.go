package synthetic

import (
	"math"
	"math/rand/v2"
)

// Random streams of one frame. Each aspect of a frame draws from its own
// stream so that, for example, forcing a defect onto a frame leaves the part,
// the lighting and the sensor noise exactly as they were.
const (
	streamLabel uint64 = iota + 1
	streamScene
	streamDefect
	streamNoise
)

// mix64 is the splitmix64 finaliser: a cheap, well-distributed 64-bit hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// reseed positions p at the start of one stream of frame index of seed.
func reseed(p *rand.PCG, seed, index, stream uint64) {
	p.Seed(mix64(seed^0x6c696e6573696465), mix64(index*0x9e3779b97f4a7c15+stream))
}

// streams holds the per-frame generators of a renderer.
type streams struct {
	labelSrc, sceneSrc, defectSrc, noiseSrc rand.PCG
	label, scene, defect, noise             *rand.Rand
}

func newStreams() *streams {
	s := &streams{}
	s.label = rand.New(&s.labelSrc)
	s.scene = rand.New(&s.sceneSrc)
	s.defect = rand.New(&s.defectSrc)
	s.noise = rand.New(&s.noiseSrc)
	return s
}

// reset positions every stream at the start of frame index of seed.
func (s *streams) reset(seed, index uint64) {
	reseed(&s.labelSrc, seed, index, streamLabel)
	reseed(&s.sceneSrc, seed, index, streamScene)
	reseed(&s.defectSrc, seed, index, streamDefect)
	reseed(&s.noiseSrc, seed, index, streamNoise)
}

// uniform draws from [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 {
	return lo + (hi-lo)*r.Float64()
}

// hash2 maps a lattice point and a salt to [0, 1).
func hash2(ix, iy int64, salt uint64) float64 {
	h := mix64(uint64(ix)*0x9e3779b97f4a7c15 ^ uint64(iy)*0xc2b2ae3d27d4eb4f ^ salt)
	return float64(h>>11) / (1 << 53)
}

// valueNoise is smooth lattice noise in [0, 1) with unit feature size.
func valueNoise(x, y float64, salt uint64) float64 {
	fx, fy := math.Floor(x), math.Floor(y)
	ix, iy := int64(fx), int64(fy)
	tx, ty := x-fx, y-fy
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	a := hash2(ix, iy, salt)
	b := hash2(ix+1, iy, salt)
	c := hash2(ix, iy+1, salt)
	d := hash2(ix+1, iy+1, salt)
	top := a + (b-a)*tx
	bot := c + (d-c)*tx
	return top + (bot-top)*ty
}

// gauss4 turns one 64-bit random word into an approximately standard normal
// value (Irwin–Hall sum of four 16-bit uniforms), which is plenty for sensor
// noise and far cheaper than an exact normal variate per pixel channel.
func gauss4(u uint64) float64 {
	s := float64(u&0xffff) + float64(u>>16&0xffff) + float64(u>>32&0xffff) + float64(u>>48)
	// Mean 2*65535, variance 4*65536²/12; normalise to unit variance.
	return (s - 131070) * (1 / 37837.23)
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// smoothstep is 0 below e0, 1 above e1 and a smooth ramp between.
func smoothstep(e0, e1, x float64) float64 {
	t := clamp((x-e0)/(e1-e0), 0, 1)
	return t * t * (3 - 2*t)
}
