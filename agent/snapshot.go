package agent

import (
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// errEmptyJPEG reports an encoder that produced nothing (an empty frame or a
// missing codec).
var errEmptyJPEG = errors.New("jpeg encoder produced no bytes")

// snapshotPolicy decides which inferred frames are sent as evidence, per
// cameras[].snapshots.mode. It is used by one worker goroutine.
type snapshotPolicy struct {
	mode    string
	everyN  int
	okIndex int // label index of a good part
	n       int // inferred frames since the last every_n snapshot
}

// want reports whether the frame whose result has label index idx gets a
// snapshot.
func (p *snapshotPolicy) want(idx int) bool {
	switch p.mode {
	case SnapshotOnDefect:
		return idx != p.okIndex
	case SnapshotEveryN:
		p.n++
		if p.n >= p.everyN {
			p.n = 0
			return true
		}
	}
	return false
}

// snapshotEncoder turns frames into evidence JPEGs no wider than maxWidth,
// keeping the aspect ratio. Its resize buffer is allocated by OpenCV on the
// first frame and reused; each encode costs OpenCV's own output vector and
// gocv's three small parameter allocations, nothing that grows.
type snapshotEncoder struct {
	maxWidth int
	params   []int
	resized  gocv.Mat
}

func newSnapshotEncoder(quality, maxWidth int) *snapshotEncoder {
	return &snapshotEncoder{
		maxWidth: maxWidth,
		params:   []int{gocv.IMWriteJpegQuality, quality},
		resized:  gocv.NewMat(),
	}
}

// snapshotSize returns the size a w×h frame is sent at: scaled down to
// maxWidth when wider, keeping the aspect ratio (rounded, at least 1 row).
func snapshotSize(w, h, maxWidth int) image.Point {
	if w <= maxWidth {
		return image.Point{X: w, Y: h}
	}
	return image.Point{X: maxWidth, Y: max(1, (h*maxWidth+w/2)/w)}
}

// encode writes the JPEG of img into dst, reusing its memory, and returns it.
func (e *snapshotEncoder) encode(img gocv.Mat, dst []byte) ([]byte, error) {
	if img.Empty() {
		return dst[:0], fmt.Errorf("snapshot: %w", errEmptyJPEG)
	}
	src := img
	if size := snapshotSize(img.Cols(), img.Rows(), e.maxWidth); size.X != img.Cols() {
		// INTER_AREA is the resampling that keeps fine detail (a scratch)
		// visible when shrinking.
		gocv.Resize(img, &e.resized, size, 0, 0, gocv.InterpolationArea)
		src = e.resized
	}
	nb, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, src, e.params)
	if err != nil {
		return dst[:0], fmt.Errorf("snapshot: encode: %w", err)
	}
	defer nb.Close()
	b := nb.GetBytes()
	if len(b) == 0 {
		return dst[:0], fmt.Errorf("snapshot: %w", errEmptyJPEG)
	}
	return append(dst[:0], b...), nil
}

// close frees the resize buffer.
func (e *snapshotEncoder) close() { e.resized.Close() }
