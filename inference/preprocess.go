package inference

import (
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// ErrBadFrame is returned (wrapped) by Classify for an empty frame or one
// whose pixel type is not 8-bit gray, BGR or BGRA.
var ErrBadFrame = errors.New("bad frame")

// normalizer turns 8-bit pixels into model input values. Tensor channel c
// reads byte src[c] of each source pixel of stride bytes, and maps it through
// lut[c], which holds (p*scale - mean[c]) / std[c] for every byte value p.
type normalizer struct {
	channels int // tensor channels: 1 or 3
	stride   int // bytes per source pixel: 1, 3 or 4
	src      [3]int
	lut      [3][256]float32
}

// newNormalizer builds the normaliser for spec and a source of stride bytes
// per pixel in OpenCV order (gray, BGR or BGRA).
func newNormalizer(spec InputSpec, stride int) *normalizer {
	n := &normalizer{channels: 3, stride: stride}
	switch {
	case spec.Color == ColorGray:
		n.channels = 1
	case stride == 1:
		n.src = [3]int{0, 0, 0} // a gray frame fed to a colour model
	case spec.Color == ColorRGB:
		n.src = [3]int{2, 1, 0}
	default:
		n.src = [3]int{0, 1, 2}
	}
	for c := 0; c < n.channels; c++ {
		mean, std := perChannel(spec.Mean, c, 0), perChannel(spec.Std, c, 1)
		for p := 0; p < 256; p++ {
			n.lut[c][p] = float32((float64(p)*spec.Scale - mean) / std)
		}
	}
	return n
}

// perChannel returns vs[c], vs[0] when a single value applies to every
// channel, or def when vs is empty.
func perChannel(vs []float64, c int, def float64) float64 {
	switch {
	case len(vs) == 0:
		return def
	case len(vs) == 1:
		return vs[0]
	default:
		return vs[c]
	}
}

// fillNCHW writes the pixels of pix (len = pixels*stride) into dst as
// channel planes: dst[c*pixels + i].
func (n *normalizer) fillNCHW(dst []float32, pix []byte, pixels int) {
	for c := 0; c < n.channels; c++ {
		plane := dst[c*pixels : (c+1)*pixels]
		lut := &n.lut[c]
		s, stride := n.src[c], n.stride
		for i := range plane {
			plane[i] = lut[pix[i*stride+s]]
		}
	}
}

// fillNHWC writes the pixels of pix (len = pixels*stride) into dst with
// channels interleaved: dst[i*channels + c].
func (n *normalizer) fillNHWC(dst []float32, pix []byte, pixels int) {
	if n.channels == 1 {
		n.fillNCHW(dst, pix, pixels)
		return
	}
	l0, l1, l2 := &n.lut[0], &n.lut[1], &n.lut[2]
	s0, s1, s2 := n.src[0], n.src[1], n.src[2]
	for i := 0; i < pixels; i++ {
		px := pix[i*n.stride : i*n.stride+n.stride]
		d := dst[i*3 : i*3+3]
		d[0], d[1], d[2] = l0[px[s0]], l1[px[s1]], l2[px[s2]]
	}
}

// preprocessor resizes and converts frames into the input tensor. Its Mats
// are allocated by OpenCV on the first frame and reused while the frame type
// stays the same, so steady-state frames allocate nothing.
type preprocessor struct {
	spec          InputSpec
	width, height int
	norms         [5]*normalizer // by source bytes per pixel (1, 3, 4)
	gray, resized gocv.Mat
}

// newPreprocessor prepares pre-processing for a width x height model input.
func newPreprocessor(spec InputSpec, width, height int) *preprocessor {
	p := &preprocessor{spec: spec, width: width, height: height, gray: gocv.NewMat(), resized: gocv.NewMat()}
	for _, stride := range []int{1, 3, 4} {
		p.norms[stride] = newNormalizer(spec, stride)
	}
	return p
}

// run writes img, an 8-bit gray, BGR or BGRA frame of any size, into dst in
// the model's layout. Colour models read BGR bytes in the order they need,
// so only gray models pay for a colour conversion.
func (p *preprocessor) run(img gocv.Mat, dst []float32) error {
	if err := reduceFrame(img, &p.gray, &p.resized, p.spec.Color, p.width, p.height); err != nil {
		return err
	}
	pix, err := p.resized.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	stride := p.resized.Channels()
	pixels := p.width * p.height
	if len(pix) != pixels*stride || len(dst) != pixels*p.norms[stride].channels {
		return fmt.Errorf("%w: resized frame has %d bytes for %d pixels", ErrBadFrame, len(pix), pixels)
	}
	if p.spec.Layout == LayoutNHWC {
		p.norms[stride].fillNHWC(dst, pix, pixels)
	} else {
		p.norms[stride].fillNCHW(dst, pix, pixels)
	}
	return nil
}

// ReduceFrame writes into dst the 8-bit image a model of the given colour
// (gray, rgb or bgr) and size is fed before normalisation: for gray, the
// frame converted to gray (BGR/BGRA → gray) and then resized with INTER_AREA;
// for colour, the frame resized, still in OpenCV's BGR(A) order. It is the
// exact reduction Classify applies, so training data built with it matches
// what the agent feeds its models.
func ReduceFrame(img gocv.Mat, dst *gocv.Mat, color string, width, height int) error {
	gray := gocv.NewMat()
	defer gray.Close()
	return reduceFrame(img, &gray, dst, color, width, height)
}

// reduceFrame converts img to gray into gray when color is gray, then resizes
// the result into dst; gray and dst are reused across calls.
func reduceFrame(img gocv.Mat, gray, dst *gocv.Mat, color string, width, height int) error {
	if img.Empty() {
		return fmt.Errorf("%w: empty frame", ErrBadFrame)
	}
	src := img
	switch t := img.Type(); t {
	case gocv.MatTypeCV8UC1:
	case gocv.MatTypeCV8UC3:
		if color == ColorGray {
			gocv.CvtColor(img, gray, gocv.ColorBGRToGray)
			src = *gray
		}
	case gocv.MatTypeCV8UC4:
		if color == ColorGray {
			gocv.CvtColor(img, gray, gocv.ColorBGRAToGray)
			src = *gray
		}
	default:
		return fmt.Errorf("%w: pixel type %v, want 8-bit gray, BGR or BGRA", ErrBadFrame, t)
	}
	gocv.Resize(src, dst, image.Point{X: width, Y: height}, 0, 0, gocv.InterpolationArea)
	return nil
}

// close frees the OpenCV buffers.
func (p *preprocessor) close() {
	p.gray.Close()
	p.resized.Close()
}
