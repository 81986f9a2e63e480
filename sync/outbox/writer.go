package outbox

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// request is one Append or Ack waiting for the writer.
type request struct {
	rec     Record
	created time.Time
	keys    []Key // ack request when non-nil
	receipt Receipt
	err     error
	done    chan struct{}
	// cb, when set, is called by the writer instead of signalling done, and
	// the writer recycles the request (AppendAsync).
	cb func(Receipt, error)
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func getRequest() *request { return requestPool.Get().(*request) }

func putRequest(r *request) {
	*r = request{done: r.done}
	requestPool.Put(r)
}

// Append stores rec and returns once the group holding it has committed
// (fsync included). ctx bounds only the wait for room in the queue: once
// queued, the record is committed and Append reports the real outcome.
// rec.Payload must not be modified until Append returns.
func (o *Outbox) Append(ctx context.Context, rec Record) (Receipt, error) {
	if err := rec.validate(); err != nil {
		return Receipt{}, fmt.Errorf("outbox: append: %w", err)
	}
	r := getRequest()
	r.rec, r.created = rec, time.Now()
	if err := o.submit(ctx, r); err != nil {
		putRequest(r)
		return Receipt{}, fmt.Errorf("outbox: append: %w", err)
	}
	<-r.done
	rc, err := r.receipt, r.err
	putRequest(r)
	if err != nil {
		return Receipt{}, fmt.Errorf("outbox: append: %w", err)
	}
	return rc, nil
}

// AppendAsync queues rec and returns without waiting for the commit; done
// is called once, from the writer goroutine, after the group holding the
// record has committed (fsync included) or failed. done must be quick and
// must not call the outbox. This lets one producer keep several appends in
// flight, so groups grow beyond one record per producer; each record is
// durable exactly when its done reports a nil error. ctx bounds only the
// wait for room in the queue. rec.Payload must not be modified until done
// is called. An error returned here means done will not be called.
func (o *Outbox) AppendAsync(ctx context.Context, rec Record, done func(Receipt, error)) error {
	if err := rec.validate(); err != nil {
		return fmt.Errorf("outbox: append: %w", err)
	}
	r := getRequest()
	r.rec, r.created, r.cb = rec, time.Now(), done
	if err := o.submit(ctx, r); err != nil {
		putRequest(r)
		return fmt.Errorf("outbox: append: %w", err)
	}
	return nil
}

// Ack deletes the records with the given keys, returning once the deletion
// has committed. Keys that are already gone are ignored, so acknowledging a
// re-published record twice is harmless. Until Ack returns the records are
// still stored; a crash before that only leads to a second publish.
func (o *Outbox) Ack(keys ...Key) error {
	if len(keys) == 0 {
		return nil
	}
	r := getRequest()
	r.keys = append(make([]Key, 0, len(keys)), keys...)
	if err := o.submit(context.Background(), r); err != nil {
		putRequest(r)
		return fmt.Errorf("outbox: ack: %w", err)
	}
	<-r.done
	err := r.err
	putRequest(r)
	if err != nil {
		return fmt.Errorf("outbox: ack: %w", err)
	}
	return nil
}

// submit queues r for the writer. The read lock keeps Close from closing the
// queue while a send is in progress.
func (o *Outbox) submit(ctx context.Context, r *request) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	o.pending.Add(1)
	select {
	case o.reqs <- r:
		return nil
	default:
	}
	select {
	case o.reqs <- r:
		return nil
	case <-ctx.Done():
		o.pending.Add(-1)
		return ctx.Err()
	}
}

// writer is the only goroutine that writes to the file. It gathers requests
// into a group and commits the group in one transaction.
// It also commits on its own when a drop report falls due.
func (o *Outbox) writer() {
	defer close(o.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	report := time.NewTimer(time.Hour)
	defer report.Stop()
	batch := make([]*request, 0, o.opts.BatchMax)
	var arena []byte
	for open := true; open; {
		if d, ok := o.drops.due(o.opts.DropReportInterval, o.opts.DropTopic != ""); ok {
			report.Reset(d)
		} else {
			report.Stop()
		}
		var r *request
		select {
		case r, open = <-o.reqs:
		case <-report.C:
		}
		batch = batch[:0]
		if r != nil {
			batch = append(batch, r)
			timer.Reset(o.opts.BatchDelay)
			batch, open = o.gather(batch, timer)
			timer.Stop()
		}
		if len(batch) > 0 || open {
			arena = o.commit(batch, arena, false)
		}
	}
	// Drops not reported yet go into a last report, stored for the next run
	// to publish, so that a stop right after a drop leaves no gap unexplained.
	if _, pending := o.drops.due(0, o.opts.DropTopic != ""); pending {
		o.commit(nil, arena, true)
	}
}

// gather adds requests to batch until it is full, the delay has passed, the
// queue is closed, the group holds groupBytes of payload, or every caller
// waiting on the outbox is already in it. A group with an asynchronous
// append waits out the delay: its producer goes on appending meanwhile, so
// at high rates several records share one commit (and its fsyncs) instead
// of one commit each.
func (o *Outbox) gather(batch []*request, timer *time.Timer) ([]*request, bool) {
	yielded := false
	bytes := len(batch[0].rec.Payload)
	async := batch[0].cb != nil
	add := func(r *request) {
		batch = append(batch, r)
		bytes += len(r.rec.Payload)
		async = async || r.cb != nil
	}
	// Large records (snapshots) close a group early, so the disk budget can
	// keep room for the next group.
	for len(batch) < o.opts.BatchMax && bytes < o.budget.groupBytes {
		select {
		case r, ok := <-o.reqs:
			if !ok {
				return batch, false
			}
			add(r)
			continue
		default:
		}
		if !async && int64(len(batch)) >= o.pending.Load() {
			if yielded {
				return batch, true
			}
			// Callers answered by the previous commit are usually about to
			// append again; let them run once before closing a small group.
			yielded = true
			runtime.Gosched()
			continue
		}
		select {
		case r, ok := <-o.reqs:
			if !ok {
				return batch, false
			}
			add(r)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}
