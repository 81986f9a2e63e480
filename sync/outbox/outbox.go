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
	"io/fs"
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
	// ErrCorrupt is wrapped by Open and Next when the file or a record cannot
	// be decoded.
	ErrCorrupt = errors.New("store is corrupt")
)

// Defaults for Options.
const (
	DefaultBatchMax    = 256
	DefaultBatchDelay  = 2 * time.Millisecond
	DefaultQueueLen    = 1024
	DefaultLockTimeout = 5 * time.Second
)

const schemaVersion = 1

var (
	bucketRecords = []byte("records")
	bucketSeq     = []byte("seq")
	bucketMeta    = []byte("meta")
	keySchema     = []byte("schema")
)

// Options tunes an Outbox. Zero values take the documented defaults.
type Options struct {
	// BatchMax caps the records (and ack requests) in one commit. Default 256.
	BatchMax int
	// BatchDelay is how long a group stays open after its first request.
	// A group closes at BatchMax, after BatchDelay, or as soon as every
	// caller currently waiting on the outbox is in it. Default 2ms.
	BatchDelay time.Duration
	// QueueLen bounds the append queue; Append blocks while it is full,
	// honouring its context. Default 1024.
	QueueLen int
	// LockTimeout is how long Open waits for the file lock (bbolt's
	// Options.Timeout) before failing with ErrLocked. Default 5s.
	LockTimeout time.Duration
	// Device is the device id used in record ids. Required; same character
	// set as stream names: [A-Za-z0-9._-].
	Device string
}

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
// A file locked by another process fails with an error wrapping ErrLocked; a
// file that is not a readable bbolt store fails with one wrapping ErrCorrupt.
func Open(path string, opts Options, log *slog.Logger) (*Outbox, error) {
	opts.setDefaults()
	if !validName(opts.Device) {
		return nil, fmt.Errorf("outbox: device %q must be 1-64 characters of [A-Za-z0-9._-]", opts.Device)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("outbox: create directory: %w", err)
	}
	db, err := openBolt(path, opts.LockTimeout)
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("outbox: open %s: %w after %s (another lineside instance may be running)", path, ErrLocked, opts.LockTimeout)
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	case err != nil:
		// Anything else bbolt reports while reading the meta pages or the
		// freelist means the file is not a store it can use.
		return nil, fmt.Errorf("outbox: open %s: %w: %w", path, ErrCorrupt, err)
	}
	o := &Outbox{
		opts:   opts,
		path:   path,
		db:     db,
		log:    log.With("component", "outbox"),
		notify: make(chan struct{}, 1),
		reqs:   make(chan *request, opts.QueueLen),
		done:   make(chan struct{}),
	}
	if err := o.init(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	o.updateSize()
	o.log.Info("store opened", "path", path, "records", o.depth.Load(), "bytes", o.size.Load())
	go o.writer()
	return o, nil
}

// openBolt opens the file; bbolt can panic on a damaged freelist, which is
// reported as an error instead.
func openBolt(path string, lockTimeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		// The freelist is rebuilt on open instead of being written on every
		// commit, which keeps the per-group cost to the records themselves.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
}

// init creates the buckets, checks the schema and counts the records. A
// panic from bbolt on a damaged page is turned into ErrCorrupt.
func (o *Outbox) init() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	return o.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySchema); v == nil {
			if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, schemaVersion)); err != nil {
				return err
			}
		} else if len(v) != 4 || binary.BigEndian.Uint32(v) != schemaVersion {
			return fmt.Errorf("%w: unknown schema version %x", ErrCorrupt, v)
		}
		if _, err := tx.CreateBucketIfNotExists(bucketSeq); err != nil {
			return err
		}
		recs, err := tx.CreateBucketIfNotExists(bucketRecords)
		if err != nil {
			return err
		}
		o.depth.Store(int64(recs.Stats().KeyN))
		return nil
	})
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
