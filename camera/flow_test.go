package camera_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lineside/lineside/camera"
)

// pacedScripted is a scripted source that says it reads faster than real
// time, as files, folders and the simulator do.
type pacedScripted struct{ scripted }

func (*pacedScripted) Paced() bool { return true }

// TestFlowControl feeds a consumer four times slower than the source: a live
// source loses the oldest frames, counted; a paced one waits, so every frame
// arrives, in order, and none is dropped.
func TestFlowControl(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   camera.Source
		drops bool
	}{
		{"live source drops the oldest", &scripted{}, true},
		{"paced source waits", &pacedScripted{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := camera.New(camera.Config{Name: "c"}, tc.src, slog.New(slog.NewTextHandler(io.Discard, nil)))
			q := camera.NewQueue(2)
			defer q.Free()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { cam.Run(ctx, q); close(done) }()
			var seqs []uint64
			deadline := time.After(600 * time.Millisecond)
		consume:
			for {
				select {
				case f := <-q.Frames():
					seqs = append(seqs, f.Seq)
					q.Release(f)
					time.Sleep(20 * time.Millisecond) // the source reads every 5 ms
				case <-deadline:
					break consume
				}
			}
			cancel()
			for f := range q.Frames() {
				seqs = append(seqs, f.Seq)
				q.Release(f)
			}
			<-done
			if len(seqs) < 10 {
				t.Fatalf("only %d frames consumed", len(seqs))
			}
			gaps := 0
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					t.Fatalf("frame %d after %d: out of order", seqs[i], seqs[i-1])
				}
				if seqs[i] != seqs[i-1]+1 {
					gaps++
				}
			}
			t.Logf("consumed %d frames, last seq %d, dropped %d", len(seqs), seqs[len(seqs)-1], q.Dropped())
			if tc.drops {
				if q.Dropped() == 0 || gaps == 0 || uint64(len(seqs))+q.Dropped() != seqs[len(seqs)-1] {
					t.Fatalf("dropped %d with %d gaps in %d frames up to seq %d: want the oldest dropped and counted",
						q.Dropped(), gaps, len(seqs), seqs[len(seqs)-1])
				}
			} else if q.Dropped() != 0 || gaps != 0 || seqs[0] != 1 {
				t.Fatalf("dropped %d, %d gaps, first seq %d: a paced source must lose nothing", q.Dropped(), gaps, seqs[0])
			}
		})
	}
}

// TestWaitingForRoomIsNotAStall holds a paced camera up with a consumer that
// takes no frame for several stall timeouts: the camera waits without
// dropping, stays streaming (inference is behind, the source is fine), and
// still stops at once.
func TestWaitingForRoomIsNotAStall(t *testing.T) {
	cam := camera.New(camera.Config{Name: "c", StallTimeout: 200 * time.Millisecond}, &pacedScripted{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := camera.NewQueue(1)
	defer q.Free()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cam.Run(ctx, q); close(done) }()
	time.Sleep(time.Second)
	if q.Len() != 1 || q.Dropped() != 0 {
		t.Fatalf("queue holds %d, dropped %d; want full and nothing dropped", q.Len(), q.Dropped())
	}
	if h := cam.Health(); h.State != camera.StateStreaming {
		t.Fatalf("camera %s (%s) while waiting for room; want streaming", h.State, h.Reason)
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return while the camera waited for room")
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("stop took %v", el)
	}
}
