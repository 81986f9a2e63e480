package main

import (
	"image"
	"image/color"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/internal/testutil"
)

// TestInferOneImage runs `lineside infer` on a drawn part, first on the CPU,
// then asking for accelerators this ONNX Runtime build lacks: the second
// run must fall back to the CPU with the same scores and say so once.
func TestInferOneImage(t *testing.T) {
	dir := t.TempDir()
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(100, 100, 100, 0), 120, 160, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.Rectangle(&img, image.Rect(40, 30, 120, 90), color.RGBA{200, 200, 200, 0}, -1)
	gocv.Line(&img, image.Pt(50, 40), image.Pt(110, 80), color.RGBA{20, 20, 20, 0}, 2)
	png := filepath.Join(dir, "part.png")
	if !gocv.IMWrite(png, img) {
		t.Fatal("write png")
	}
	args := []string{"infer", "--model", testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"),
		"--image", png, "--library", testutil.ORTLibrary(t)}
	line := regexp.MustCompile(`^label=(ok|scratch|spot|crack) score=[0-9.]+ scores=(ok=[0-9.]+,scratch=[0-9.]+,spot=[0-9.]+,crack=[0-9.]+) provider=cpu onnxruntime=1\.24\.1 latency_ms=[0-9.]+$`)

	out, err := exec.Command(binary, args...).Output()
	m := line.FindStringSubmatch(strings.TrimSpace(string(out)))
	if err != nil || m == nil {
		t.Fatalf("infer: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, append(args, "--providers", "tensorrt,cuda,openvino,cpu")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	m2 := line.FindStringSubmatch(strings.TrimSpace(string(out)))
	if err != nil || m2 == nil {
		t.Fatalf("infer with accelerators: %v\n%s\n%s", err, out, stderr.String())
	}
	if m2[2] != m[2] {
		t.Errorf("scores differ after fallback: %s vs %s", m2[2], m[2])
	}
	if n := strings.Count(stderr.String(), "falling back"); n != 1 {
		t.Errorf("%d fallback lines, want 1:\n%s", n, stderr.String())
	}

	code, _ := runOnce(t, 30*time.Second, "infer", "--model", "x.onnx")
	if code != exitUsage {
		t.Errorf("infer without --image: exit %d, want %d", code, exitUsage)
	}
}
