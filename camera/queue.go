package camera

import (
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"
)

// Frame is one captured image with its capture metadata. Frames are owned by a
// Queue and recycled: a consumer must Release a frame when done with it and
// must not keep references to its Mat afterwards.
type Frame struct {
	// Camera is the name of the camera that produced the frame.
	Camera string
	// Seq counts frames read by the camera since start.
	Seq uint64
	// Time is when the frame was read.
	Time time.Time
	// Mat holds the decoded image (BGR or gray).
	Mat gocv.Mat
}

// Queue is the bounded hand-over between one camera and its inference worker.
// It holds at most Cap frames; when the consumer is behind, the producer
// takes back the oldest queued frame and counts it as dropped (Acquire,
// Publish), so the queue never grows and the newest frames win; or, for a
// source that can wait, it waits for room (AcquireWait, PublishWait).
// Frames are pre-allocated once and recycled, so steady-state capture does
// not allocate.
//
// One producer goroutine calls Acquire and Publish; one consumer goroutine
// calls Frames and Release.
type Queue struct {
	ready   chan *Frame
	free    chan *Frame
	all     []*Frame
	dropped atomic.Uint64
}

// NewQueue makes a queue holding up to capacity frames (at least 1).
func NewQueue(capacity int) *Queue {
	if capacity < 1 {
		capacity = 1
	}
	total := capacity + 2 // one being filled, one being processed
	q := &Queue{ready: make(chan *Frame, capacity), free: make(chan *Frame, total)}
	for i := 0; i < total; i++ {
		f := &Frame{Mat: gocv.NewMat()}
		q.all = append(q.all, f)
		q.free <- f
	}
	return q
}

// Acquire returns a frame to fill: a free one, or else the oldest queued
// frame, which is then counted as dropped.
func (q *Queue) Acquire() *Frame {
	select {
	case f := <-q.free:
		return f
	default:
	}
	select {
	case f := <-q.free:
		return f
	case f := <-q.ready:
		q.dropped.Add(1)
		return f
	}
}

// Publish hands a filled frame to the consumer. It never blocks: when the
// queue is full, the oldest queued frame is dropped and counted.
func (q *Queue) Publish(f *Frame) {
	for {
		select {
		case q.ready <- f:
			return
		default:
		}
		select {
		case old := <-q.ready:
			q.dropped.Add(1)
			q.free <- old
		default:
		}
	}
}

// AcquireWait returns a free frame, waiting for the consumer to release one
// rather than dropping a queued frame: for sources whose frames do not go
// stale while they wait (files, folders, the simulator). While it waits it
// calls idle every interval, so that a producer held up by its consumer can
// report itself alive. It returns nil once done is closed.
func (q *Queue) AcquireWait(done <-chan struct{}, interval time.Duration, idle func()) *Frame {
	select {
	case f := <-q.free:
		return f
	default:
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case f := <-q.free:
			return f
		case <-done:
			return nil
		case <-t.C:
			idle()
		}
	}
}

// PublishWait hands a filled frame to the consumer, waiting for room rather
// than dropping the oldest, and calling idle every interval while it waits.
// It reports false, and takes the frame back as free, once done is closed.
func (q *Queue) PublishWait(f *Frame, done <-chan struct{}, interval time.Duration, idle func()) bool {
	select {
	case q.ready <- f:
		return true
	default:
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case q.ready <- f:
			return true
		case <-done:
			q.free <- f
			return false
		case <-t.C:
			idle()
		}
	}
}

// Discard returns an acquired frame unused.
func (q *Queue) Discard(f *Frame) { q.free <- f }

// Close tells the consumer that no more frames will come; frames already
// queued are still delivered.
func (q *Queue) Close() { close(q.ready) }

// Frames is the consumer's channel; it is closed after Close once drained.
func (q *Queue) Frames() <-chan *Frame { return q.ready }

// Release gives a consumed frame back for reuse.
func (q *Queue) Release(f *Frame) { q.free <- f }

// Dropped counts frames dropped because the consumer was behind.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Len is the number of frames waiting for the consumer.
func (q *Queue) Len() int { return len(q.ready) }

// Free releases the frames' OpenCV memory. Call it after producer and
// consumer have both stopped.
func (q *Queue) Free() {
	for _, f := range q.all {
		f.Mat.Close()
	}
}
