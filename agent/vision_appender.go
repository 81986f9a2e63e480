package agent

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/sync/outbox"
)

// defaultAppendSlots is how many inferred frames of one camera may be on
// their way to the store at once. Enough to keep the worker busy during an
// fsync and, with an asynchronous store, to let a group commit carry several
// frames; when all are taken the worker waits, and the camera's queue drops
// (and counts) the oldest frames instead.
const defaultAppendSlots = 8

// recordAppender is what the appender needs of the outbox: a durable,
// ordered Append. *outbox.Outbox implements it.
type recordAppender interface {
	Append(ctx context.Context, rec outbox.Record) (outbox.Receipt, error)
}

// asyncAppender is implemented by stores that can queue a record and report
// its commit later, keeping the order of the calls. When the store offers
// it, the appender keeps several events in flight so that they share group
// commits; otherwise it waits for each commit in turn.
type asyncAppender interface {
	AppendAsync(ctx context.Context, rec outbox.Record, done func(outbox.Receipt, error)) error
}

// appendJob is one inferred frame on its way to the store. Jobs are
// pre-allocated and recycled, so their buffers are reused.
type appendJob struct {
	ts       time.Time
	res      inference.Result // res.Scores aliases scores
	scores   []float32
	latency  time.Duration
	snapshot bool           // jpeg holds an evidence snapshot to append first
	jpeg     []byte         // the snapshot
	payload  []byte         // the defect event, owned by the store until done
	enc      *defectEncoder // of the model version that produced res
	done     func(outbox.Receipt, error)
}

// fill copies one result into j, so the classifier may overwrite its own.
func (j *appendJob) fill(ts time.Time, r inference.Result, latency time.Duration) {
	j.ts, j.latency, j.snapshot = ts, latency, false
	if cap(j.scores) < len(r.Scores) { // a new model version with more labels
		j.scores = make([]float32, len(r.Scores))
	}
	n := copy(j.scores[:cap(j.scores)], r.Scores)
	j.res = r
	j.res.Scores = j.scores[:n]
}

// appender moves the durable outbox append off the inference path: the
// worker hands each result over and classifies the next frame while this
// goroutine stores. It hands records to the store one at a time in
// hand-over order, so per-stream seqs follow capture order; a snapshot is
// committed before its defect event, which carries the snapshot's id.
// Memory is bounded by the fixed set of jobs.
type appender struct {
	out                   recordAppender
	async                 asyncAppender // nil when the store has no AppendAsync
	enc                   *defectEncoder
	stream, topic         string
	snapStream, snapTopic string
	log                   *slog.Logger

	free     chan *appendJob
	jobs     chan *appendJob
	done     chan struct{}
	inflight sync.WaitGroup // events handed to the store, not yet committed

	appended  atomic.Uint64 // defect events stored
	snapshots atomic.Uint64 // snapshots stored
	failed    atomic.Uint64 // records the store refused
	waits     atomic.Uint64 // hand-overs that waited for a free job

	errMu   sync.Mutex
	lastErr string // last failure logged, "" after a success
}

func newAppender(out recordAppender, enc *defectEncoder, slots, labels int, log *slog.Logger) *appender {
	if slots < 1 {
		slots = defaultAppendSlots
	}
	a := &appender{
		out: out, enc: enc, log: log,
		free: make(chan *appendJob, slots),
		jobs: make(chan *appendJob, slots),
		done: make(chan struct{}),
	}
	a.async, _ = out.(asyncAppender)
	for i := 0; i < slots; i++ {
		j := &appendJob{scores: make([]float32, labels), payload: make([]byte, 0, 512)}
		j.done = func(_ outbox.Receipt, err error) { // bound once: no closure per frame
			a.finish(j, err)
			a.inflight.Done()
		}
		a.free <- j
	}
	return a
}

// acquire returns a free job, waiting while every job is with the store.
func (a *appender) acquire() *appendJob {
	select {
	case j := <-a.free:
		return j
	default:
	}
	a.waits.Add(1)
	return <-a.free
}

// submit hands a filled job to the appender goroutine; it never blocks, as
// jobs has room for every job.
func (a *appender) submit(j *appendJob) { a.jobs <- j }

// release returns an acquired job unused.
func (a *appender) release(j *appendJob) { a.free <- j }

// run stores jobs until stop.
func (a *appender) run() {
	defer close(a.done)
	for j := range a.jobs {
		a.store(j)
	}
}

// stop lets run hand every job already submitted to the store, then waits
// until the store has committed (or refused) each of them. The worker must
// not submit afterwards.
func (a *appender) stop() {
	close(a.jobs)
	<-a.done
	a.inflight.Wait()
}

// store appends the job's snapshot (if any), waiting for its id, and then
// its defect event; the job goes back to the free list once the event is
// committed. A snapshot the store refuses leaves the event with
// "snapshot": null rather than losing the event too.
func (a *appender) store(j *appendJob) {
	ctx := context.Background() // the outbox closes only after every appender stopped
	var snapID string
	if j.snapshot {
		rc, err := a.out.Append(ctx, outbox.Record{
			Stream:   a.snapStream,
			Topic:    a.snapTopic,
			QoS:      1,
			Priority: outbox.PrioritySnapshot,
			Payload:  j.jpeg,
		})
		if err != nil {
			a.failed.Add(1)
			a.report(err)
		} else {
			snapID = rc.ID
			a.snapshots.Add(1)
		}
	}
	var err error
	enc := a.enc
	if j.enc != nil {
		enc = j.enc
	}
	if j.payload, err = enc.encode(j.payload, j.ts, j.res, j.latency, snapID); err != nil {
		a.finish(j, err)
		return
	}
	rec := outbox.Record{
		Stream:   a.stream,
		Topic:    a.topic,
		QoS:      1,
		Priority: outbox.PriorityEvent,
		Payload:  j.payload,
		JSON:     true,
	}
	if a.async != nil {
		a.inflight.Add(1)
		if err := a.async.AppendAsync(ctx, rec, j.done); err != nil {
			a.inflight.Done()
			a.finish(j, err)
		}
		return
	}
	_, err = a.out.Append(ctx, rec)
	a.finish(j, err)
}

// finish counts the outcome of a job's event and frees the job. It may run
// in the store's goroutine, so it only counts, logs and frees.
func (a *appender) finish(j *appendJob, err error) {
	if err != nil {
		a.failed.Add(1)
		a.report(err)
	} else {
		a.appended.Add(1)
		a.report(nil)
	}
	a.free <- j
}

// report logs a store failure once per kind of failure, not per frame, and
// notes the recovery.
func (a *appender) report(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	a.errMu.Lock()
	changed := msg != a.lastErr
	prev := a.lastErr
	a.lastErr = msg
	a.errMu.Unlock()
	switch {
	case !changed:
	case err != nil:
		a.log.Error("result not stored", "err", err)
	case prev != "":
		a.log.Info("results stored again")
	}
}
