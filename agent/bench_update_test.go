//go:build bench

package agent

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/benchfmt"
	"github.com/lineside/lineside/internal/testutil"
)

// TestBenchHotSwap pushes a 5 MB model to a device classifying a 30 fps
// camera through a real mosquitto, and reports the swap time (verified file
// to the first frame on the new model: load, smoke inference, hand-over)
// against a bare classifier load of the same file, the whole push-to-serving
// time, and the frames lost (the goal is none, and a swap under 1 s).
func TestBenchHotSwap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.onnx")
	if out, err := exec.Command("/usr/bin/python3", testutil.Path(t, "models", "testdata", "make_big.py"), big).CombinedOutput(); err != nil {
		t.Fatalf("make_big.py: %v\n%s", err, out)
	}
	r := newUpdateRig(t, testutil.StartBroker(t), t.TempDir(), nil)
	r.waitState("the configured version", 10*time.Second, serving(configuredVersion))
	time.Sleep(time.Second)

	start := time.Now()
	r.push(big, "1.0.0")
	s := r.waitState("1.0.0 serving", 60*time.Second, serving("1.0.0"))
	total := time.Since(start)
	time.Sleep(time.Second)
	r.stop()

	t0 := time.Now()
	c, err := inference.LoadClassifier(big, inference.ClassifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bare := time.Since(t0)
	c.Close()

	lost := float64(r.w.queue.Dropped() + r.w.failed.Load())
	benchfmt.Print(nil, "update_hot_swap_5mb", s.SwapMS, "ms", ms(bare), benchfmt.Lower)
	benchfmt.Print(nil, "update_push_to_serving_5mb", ms(total), "ms", ms(bare), benchfmt.Lower)
	benchfmt.Print(nil, "update_frames_lost_30fps", lost, "frames", 0, benchfmt.Lower)
	if lost != 0 {
		t.Errorf("%v frames lost during the swap", lost)
	}
	if s.SwapMS >= 1000 {
		t.Errorf("swap took %.0f ms, goal < 1000", s.SwapMS)
	}
}
