package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Command flow limits. A command is small; a flood of them must cost the
// agent little: beyond commandRate per second (after a burst) commands are
// refused, and refusals are themselves answered at most refusalRate per
// second, the rest only counted.
const (
	commandRate    = 10.0
	commandBurst   = 20
	refusalRate    = 2.0
	refusalBurst   = 5
	commandQueue   = 16               // commands (and refusals) waiting for the runner
	commandTimeout = 60 * time.Second // longest a handler may run (a reload loads models)
)

// commandHandler runs one command. args is the command's JSON object without
// its "id", or nil when the message was empty. The result goes into the
// reply's "result"; an error into its "error". Handlers run one at a time on
// the dispatcher's goroutine, never on the MQTT client's.
type commandHandler func(ctx context.Context, args json.RawMessage) (any, error)

// commandReply is the payload of {base}/cmd/{name}/reply (DESIGN.md).
type commandReply struct {
	// ID echoes the command's "id", when it had one, so a caller can match
	// replies to commands.
	ID     string  `json:"id,omitempty"`
	OK     bool    `json:"ok"`
	Error  *string `json:"error"`
	Result any     `json:"result"`
	TS     string  `json:"ts"`
}

// commandJob is one decoded command, or a refusal to answer.
type commandJob struct {
	cmd    command
	refuse error // non-nil: reply with this error without running anything
}

// commandCounts are the dispatcher's figures for metrics.
type commandCounts struct {
	Received    uint64 `json:"received"`
	OK          uint64 `json:"ok"`
	Failed      uint64 `json:"failed"`
	RateLimited uint64 `json:"rate_limited"`
	Dropped     uint64 `json:"dropped"`
}

// dispatcher receives every {base}/cmd/+ message on one subscription,
// decodes it, rate-limits it and runs the handler registered under its name
// on one goroutine, then publishes the reply on {base}/cmd/{name}/reply.
// Handlers are registered before run starts; handle is safe for concurrent
// use and never blocks.
type dispatcher struct {
	base     string
	handlers map[string]commandHandler
	publish  func(topic string, payload []byte) error
	log      *slog.Logger
	jobs     chan commandJob
	refusals chan commandJob // kept apart so that a full job queue still lets refusals out

	mu      sync.Mutex // guards the buckets
	accept  *tokenBucket
	refusal *tokenBucket

	received, ok, failed, limited, dropped atomic.Uint64
}

// newDispatcher returns a dispatcher for the commands under base
// ({prefix}/{site}/{line}/{device}) that sends replies with publish.
func newDispatcher(base string, publish func(topic string, payload []byte) error, log *slog.Logger) *dispatcher {
	now := time.Now()
	return &dispatcher{
		base: base, handlers: map[string]commandHandler{}, publish: publish,
		log:      log.With("component", "commands"),
		jobs:     make(chan commandJob, commandQueue),
		refusals: make(chan commandJob, refusalBurst),
		accept:   newTokenBucket(commandRate, commandBurst, now),
		refusal:  newTokenBucket(refusalRate, refusalBurst, now),
	}
}

// register adds the handler of command name. It panics on a duplicate, as
// two handlers for one command are a programming error.
func (d *dispatcher) register(name string, h commandHandler) {
	if !validCommandName(name) {
		panic(fmt.Sprintf("commands: invalid name %q", name))
	}
	if _, dup := d.handlers[name]; dup {
		panic(fmt.Sprintf("commands: %q registered twice", name))
	}
	d.handlers[name] = h
}

// handle is the uplink handler of {base}/cmd/+. It runs on the MQTT
// client's goroutine, so it only decodes and queues.
func (d *dispatcher) handle(topic string, payload []byte) {
	d.received.Add(1)
	cmd, err := decodeCommand(d.base, topic, payload)
	if cmd.Name == "" { // not even a name to reply to
		d.dropped.Add(1)
		d.log.Debug("command message ignored", "topic", truncate(topic, 200), "err", err)
		return
	}
	if err != nil {
		d.enqueueRefusal(cmd, err)
		return
	}
	d.mu.Lock()
	allowed := d.accept.take(time.Now())
	d.mu.Unlock()
	if !allowed {
		d.limited.Add(1)
		d.enqueueRefusal(cmd, errRateLimited)
		return
	}
	select {
	case d.jobs <- commandJob{cmd: cmd}:
	default:
		d.enqueueRefusal(cmd, errBusy)
	}
}

// Refusals of commands that were not run.
var (
	errRateLimited = errors.New("rate limited: too many commands; retry later")
	errBusy        = errors.New("busy: too many commands waiting; retry later")
)

// enqueueRefusal queues an error reply if the refusal budget allows;
// otherwise the command is only counted.
func (d *dispatcher) enqueueRefusal(cmd command, err error) {
	d.mu.Lock()
	allowed := d.refusal.take(time.Now())
	d.mu.Unlock()
	if allowed {
		select {
		case d.refusals <- commandJob{cmd: cmd, refuse: err}:
			return
		default:
		}
	}
	d.failed.Add(1)
	d.dropped.Add(1)
}

// run answers queued commands until ctx ends.
func (d *dispatcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-d.refusals:
			d.reply(j.cmd, d.exec(ctx, j))
		case j := <-d.jobs:
			d.reply(j.cmd, d.exec(ctx, j))
		}
	}
}

// exec runs one job and returns its reply.
func (d *dispatcher) exec(ctx context.Context, j commandJob) commandReply {
	r := commandReply{ID: j.cmd.ID}
	err := j.refuse
	if err == nil {
		h, ok := d.handlers[j.cmd.Name]
		if !ok {
			err = fmt.Errorf("unknown command %q; known: %v", j.cmd.Name, slices.Sorted(maps.Keys(d.handlers)))
		} else {
			hctx, cancel := context.WithTimeout(ctx, commandTimeout)
			r.Result, err = safeRun(hctx, h, j.cmd.Args)
			cancel()
		}
	}
	if err != nil {
		msg := err.Error()
		r.Error = &msg
		d.failed.Add(1)
		d.log.Warn("command refused", "command", j.cmd.Name, "err", err)
	} else {
		r.OK = true
		d.ok.Add(1)
		d.log.Info("command done", "command", j.cmd.Name)
	}
	return r
}

// safeRun runs h and turns a panic into an error: a bad command must not
// take the daemon down.
func safeRun(ctx context.Context, h commandHandler, args json.RawMessage) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, fmt.Errorf("internal error: %v", p)
		}
	}()
	return h(ctx, args)
}

// reply publishes r on {base}/cmd/{name}/reply.
func (d *dispatcher) reply(cmd command, r commandReply) {
	r.TS = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(r)
	if err != nil {
		msg := fmt.Sprintf("result not encodable: %v", err)
		b, _ = json.Marshal(commandReply{ID: r.ID, Error: &msg, TS: r.TS})
	}
	if err := d.publish(d.base+"/cmd/"+cmd.Name+"/reply", b); err != nil {
		d.log.Warn("command reply not published", "command", cmd.Name, "err", err)
	}
}

// counts returns the dispatcher's figures; zero before the agent started.
func (d *dispatcher) counts() commandCounts {
	if d == nil {
		return commandCounts{}
	}
	return commandCounts{
		Received: d.received.Load(), OK: d.ok.Load(), Failed: d.failed.Load(),
		RateLimited: d.limited.Load(), Dropped: d.dropped.Load(),
	}
}

// tokenBucket grants up to burst events at once and rate per second on
// average. Not safe for concurrent use.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take reports whether one event may happen at now, and spends a token if so.
func (b *tokenBucket) take(now time.Time) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
