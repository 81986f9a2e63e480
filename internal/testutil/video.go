package testutil

import (
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// WriteVideo writes an MJPEG AVI of n frames (w×h, BGR) into dir with real
// OpenCV encoding and returns its path. Frame i shows a bright disc whose
// position depends on i, so consecutive frames differ.
func WriteVideo(t testing.TB, dir string, n, w, h int) string {
	t.Helper()
	path := filepath.Join(dir, "video.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", 10, w, h, true)
	if err != nil {
		t.Fatalf("video writer: %v", err)
	}
	defer vw.Close()
	img := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer img.Close()
	for i := 0; i < n; i++ {
		img.SetTo(gocv.NewScalar(40, 40, 40, 0))
		c := image.Pt((i*17)%w, h/2)
		gocv.Circle(&img, c, h/6, color.RGBA{220, 220, 220, 0}, -1)
		if err := vw.Write(img); err != nil {
			t.Fatalf("video write: %v", err)
		}
	}
	return path
}
