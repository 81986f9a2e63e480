package camera

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Motion gate defaults.
const (
	// DefaultMotionThreshold is the gray-level difference above which a pixel
	// counts as changed.
	DefaultMotionThreshold = 25
	// DefaultMotionMinArea is the share of changed pixels that counts as
	// motion.
	DefaultMotionMinArea = 0.01
	// motionWidth is the width frames are reduced to before differencing:
	// small enough to cost little, large enough to see a part move, and the
	// area averaging removes most sensor noise.
	motionWidth = 160
)

// MotionConfig configures the motion gate: frame differencing on a
// downscaled gray copy of each frame the gate looks at.
type MotionConfig struct {
	// Enabled turns the motion gate on. Default false.
	Enabled bool
	// Threshold is the gray-level difference (1-255) above which a pixel
	// counts as changed. Default 25.
	Threshold float64
	// MinArea is the share of the frame (0-1) that must change for the frame
	// to count as motion. Default 0.01.
	MinArea float64
}

// motionDetector compares each frame with the previous one it saw. Its Mats
// are allocated by OpenCV on the first frame and reused afterwards.
type motionDetector struct {
	threshold float32
	minArea   float64
	small     gocv.Mat // the frame reduced, still in its colour
	cur, prev gocv.Mat // gray, reduced
	diff      gocv.Mat
}

func newMotionDetector(cfg MotionConfig) (*motionDetector, error) {
	if cfg.Threshold < 1 || cfg.Threshold > 255 {
		return nil, fmt.Errorf("motion threshold %g is not between 1 and 255", cfg.Threshold)
	}
	if cfg.MinArea < 0 || cfg.MinArea > 1 {
		return nil, fmt.Errorf("motion min_area %g is not between 0 and 1", cfg.MinArea)
	}
	return &motionDetector{
		threshold: float32(cfg.Threshold),
		minArea:   cfg.MinArea,
		small:     gocv.NewMat(),
		cur:       gocv.NewMat(),
		prev:      gocv.NewMat(),
		diff:      gocv.NewMat(),
	}, nil
}

// moved reports whether img differs from the previous frame by at least the
// configured area. The first frame, a frame of a new size and a frame the
// detector cannot read count as motion, so the classifier sees them.
func (m *motionDetector) moved(img gocv.Mat) bool {
	if img.Empty() || img.Cols() < 1 {
		return true
	}
	w := min(motionWidth, img.Cols())
	h := max(1, img.Rows()*w/img.Cols())
	gocv.Resize(img, &m.small, image.Point{X: w, Y: h}, 0, 0, gocv.InterpolationArea)
	switch m.small.Channels() {
	case 1:
		m.small.CopyTo(&m.cur)
	case 3:
		gocv.CvtColor(m.small, &m.cur, gocv.ColorBGRToGray)
	case 4:
		gocv.CvtColor(m.small, &m.cur, gocv.ColorBGRAToGray)
	default:
		return true
	}
	moved := true
	if !m.prev.Empty() && m.prev.Rows() == m.cur.Rows() && m.prev.Cols() == m.cur.Cols() && m.prev.Type() == m.cur.Type() {
		gocv.AbsDiff(m.cur, m.prev, &m.diff)
		gocv.Threshold(m.diff, &m.diff, m.threshold, 255, gocv.ThresholdBinary)
		changed := gocv.CountNonZero(m.diff)
		moved = changed > 0 && float64(changed) >= m.minArea*float64(w*h)
	}
	m.cur, m.prev = m.prev, m.cur // this frame is the next one's reference
	return moved
}

func (m *motionDetector) close() {
	m.small.Close()
	m.cur.Close()
	m.prev.Close()
	m.diff.Close()
}
