package inference

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRegistryLoadRefusesBadModels(t *testing.T) {
	initORT(t)
	r := NewRegistry()
	r.Register("defect", ClassifierOptions{})
	for _, tc := range []struct{ file, want string }{
		{"not-a-model.onnx", "load"},
		{"wrong-task.onnx", "lineside.task"},
		{"bad-output.onnx", "score(s) per image"},
		{"bad-rank.onnx", "rank"},
	} {
		_, err := r.Load("defect", fixture(t, tc.file), "9.0.0")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.file, err, tc.want)
		}
	}
	if _, err := r.Load("pdm", defectModel(t), "1.0.0"); err == nil {
		t.Error("a model that is not registered was loaded")
	}
	clfs, err := r.Load("defect", defectModel(t), "2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(clfs) != 1 || clfs[0].Metadata().Version != "2.0.0" {
		t.Fatalf("loaded %d, version %q", len(clfs), clfs[0].Metadata().Version)
	}
	clfs[0].Close()
}

// TestSlotSwapBetweenFrames runs a worker loop on a slot and swaps the model
// under it: every frame is classified, the swap is taken between frames and
// the old classifier is closed by the worker.
func TestSlotSwapBetweenFrames(t *testing.T) {
	initORT(t)
	r := NewRegistry()
	first, err := LoadClassifier(defectModel(t), ClassifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slot := NewSlot(first, "1.0.0")
	r.Register("defect", ClassifierOptions{}, slot)
	img := conveyorFrame(t, 320, 240, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	var frames, failures atomic.Int64
	versions := map[string]int{}
	go func() {
		defer close(done)
		defer slot.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			h := slot.Take()
			start := time.Now()
			_, err := slot.Classifier().Classify(img)
			slot.Observe(h, time.Since(start), err)
			frames.Add(1)
			if err != nil {
				failures.Add(1)
			}
			versions[slot.Classifier().Metadata().Version]++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for frames.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	clfs, err := r.Load("defect", defectModel(t), "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Swap("defect", clfs, "1.1.0", 5*time.Second)
	if err != nil || !res.Served || res.SwapTime <= 0 {
		t.Fatalf("swap: %+v %v", res, err)
	}
	n := frames.Load()
	for frames.Load() < n+10 {
		time.Sleep(time.Millisecond)
	}
	st := slot.Stats()
	close(stop)
	<-done
	if failures.Load() != 0 {
		t.Fatalf("%d frames failed around the swap", failures.Load())
	}
	if versions["1.1.0"] < 10 || st.Version != "1.1.0" || st.Baseline <= 0 || st.Median <= 0 {
		t.Fatalf("versions %v stats %+v", versions, st)
	}
	if _, err := first.Classify(img); err != ErrClosed {
		t.Fatalf("old classifier not closed after the swap: %v", err)
	}
	if _, err := slot.Offer(clfs[0], "9.9.9"); err != ErrSlotClosed {
		t.Fatalf("offer after close: %v", err)
	}
}
