// Package outbox is lineside's store-and-forward queue: a bbolt file that
// keeps every record until the uplink has its PUBACK.
//
// Producers call Append, which returns once the record is durable. A single
// writer goroutine commits appends (and acknowledgements) in groups, one bbolt
// transaction and one fsync per group, and assigns each record its per-stream
// sequence number and id "{device}:{stream}:{seq}" inside that transaction.
// The uplink reads with Next (highest priority first, oldest first within a
// tier), publishes, and deletes with Ack.
//
// Buckets: "records" maps Key (priority byte + commit counter) to the stored
// message, "seq" maps a stream name to its last sequence number, "meta" holds
// the schema version.
package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel errors.
var (
	// ErrClosed is returned by Append and Ack after Close.
	ErrClosed = errors.New("outbox closed")
	// ErrLocked is wrapped by Open when another process holds the file lock.
	ErrLocked = errors.New("store is locked by another process")
	// ErrCorrupt is wrapped by errors about a file or a record that cannot
	// be decoded. Open does not return it for a damaged file: it salvages.
	ErrCorrupt = errors.New("store is corrupt")
	// ErrFull is wrapped by Append when the disk budget has no room for a
	// record even after every record of its tier and below was dropped.
	ErrFull = errors.New("store is full")
)

// Defaults for Options.
const (
	DefaultBatchMax           = 256
	DefaultBatchDelay         = 2 * time.Millisecond
	DefaultQueueLen           = 1024
	DefaultLockTimeout        = 5 * time.Second
	DefaultDropReportInterval = time.Second
)

const schemaVersion = 1

var (
	bucketRecords = []byte("records")
	bucketSeq     = []byte("seq")
	bucketMeta    = []byte("meta")
	keySchema     = []byte("schema")
	keyDrops      = []byte("drops") // drops not yet reported, JSON
)

// Options tunes an Outbox. Zero values take the documented defaults.
type Options struct {
	// BatchMax caps the records (and ack requests) in one commit. Default 256.
	BatchMax int
	// BatchDelay is how long a group stays open after its first request.
	// A group closes at BatchMax, after BatchDelay, or as soon as every
	// caller currently waiting on the outbox is in it; a group holding an
	// AppendAsync stays open for the whole delay, since that producer is
	// not waiting and its next records can share the commit. Default 2ms.
	BatchDelay time.Duration
	// QueueLen bounds the append queue; Append blocks while it is full,
	// honouring its context. Default 1024.
	QueueLen int
	// LockTimeout is how long Open waits for the file lock before failing
	// with ErrLocked. Default 5s.
	LockTimeout time.Duration
	// Device is the device id used in record ids. Required; same character
	// set as stream names: [A-Za-z0-9._-].
	Device string
	// MaxBytes is the disk budget: the store file never grows beyond it.
	// When a commit would not fit, the oldest records of the lowest tier are
	// dropped first. At least MinMaxBytes; 0 means no budget.
	MaxBytes int64
	// DropTopic is where drop reports go ({base}/events/drops): records of
	// stream "drops" at PriorityAlarm, written in the same transaction as
	// the drops they report, at most once per DropReportInterval. Empty
	// keeps only the counters.
	DropTopic string
	// DropReportInterval is the least time between two drop reports.
	// Default 1s.
	DropReportInterval time.Duration
	// StoreTopic is where a salvage report goes ({base}/events/store): a
	// record of stream "store" at PriorityAlarm, written into the fresh
	// store together with the salvaged records. Empty writes none.
	StoreTopic string
}

// MinMaxBytes is the smallest disk budget Options.MaxBytes accepts.
const MinMaxBytes = 1 << 20

func (o *Options) setDefaults() {
	if o.BatchMax <= 0 {
		o.BatchMax = DefaultBatchMax
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = DefaultBatchDelay
	}
	if o.QueueLen <= 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.DropReportInterval <= 0 {
		o.DropReportInterval = DefaultDropReportInterval
	}
}

// Outbox is an open store. All methods are safe for concurrent use. Open
// starts the writer; Close stops it and must be called exactly once when the
// store is no longer needed. Append and Ack fail with ErrClosed afterwards;
// Next, Depth and the statistics keep answering until Close returns.
type Outbox struct {
	opts   Options
	path   string
	db     *bolt.DB
	log    *slog.Logger
	notify chan struct{}
	budget budget
	drops  dropLedger
	rate   rateMeter
	salv   *SalvageReport

	mu      sync.RWMutex // guards closed and sending on reqs
	closed  bool
	reqs    chan *request
	pending atomic.Int64 // requests sent and not yet answered
	done    chan struct{}

	depth atomic.Int64
	size  atomic.Int64
	stats statCounters
}

// Open opens (creating if needed) the store at path and starts its writer.
// A file locked by another process fails with an error wrapping ErrLocked
// after LockTimeout. A file that is damaged (not a bbolt file, truncated, a
// broken page or record) is renamed aside, never deleted; what can be read
// from it is copied into a fresh store, and Salvaged describes what
// happened.
func Open(path string, opts Options, log *slog.Logger) (*Outbox, error) {
	opts.setDefaults()
	if !validName(opts.Device) {
		return nil, fmt.Errorf("outbox: device %q must be 1-64 characters of [A-Za-z0-9._-]", opts.Device)
	}
	if opts.MaxBytes != 0 && opts.MaxBytes < MinMaxBytes {
		return nil, fmt.Errorf("outbox: max bytes %d is less than the minimum of %d", opts.MaxBytes, MinMaxBytes)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("outbox: create directory: %w", err)
	}
	o := &Outbox{
		opts:   opts,
		path:   path,
		log:    log.With("component", "outbox"),
		notify: make(chan struct{}, 1),
		reqs:   make(chan *request, opts.QueueLen),
		done:   make(chan struct{}),
	}
	o.budget.init(opts.MaxBytes)
	if err := o.open(); err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	o.updateSize()
	o.log.Info("store opened", "path", path, "records", o.depth.Load(), "bytes", o.size.Load(), "max_bytes", opts.MaxBytes)
	go o.writer()
	return o, nil
}

// Close stops accepting appends, commits every request already queued,
// and closes the file. It is safe to call more than once.
func (o *Outbox) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		<-o.done
		return nil
	}
	o.closed = true
	close(o.reqs)
	o.mu.Unlock()
	<-o.done
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("outbox: close: %w", err)
	}
	o.log.Info("store closed", "records", o.depth.Load())
	return nil
}

// Notify returns a channel that receives a value after a commit that added
// records. It has room for one value and is meant for a single consumer
// (the uplink), which sees at least one wake-up per burst of commits.
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// Depth returns the number of records in the store.
func (o *Outbox) Depth() int { return int(o.depth.Load()) }

// Bytes returns the size of the store file after the last commit.
func (o *Outbox) Bytes() int64 { return o.size.Load() }

func (o *Outbox) updateSize() {
	if fi, err := os.Stat(o.path); err == nil {
		o.size.Store(fi.Size())
	}
}

// Path returns the file the store lives in.
func (o *Outbox) Path() string { return o.path }

// LastSeq returns the last sequence number committed for stream (0 if none).
func (o *Outbox) LastSeq(stream string) uint64 {
	var seq uint64
	_ = o.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSeq).Get([]byte(stream)); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return seq
}
