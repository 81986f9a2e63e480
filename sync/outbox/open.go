package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// open locks, checks, salvages if needed, and opens the bbolt file.
func (o *Outbox) open() error {
	unlock, err := waitLock(o.path, o.opts.LockTimeout)
	if err != nil {
		return err
	}
	var damage error
	if _, err := os.Stat(o.path); err == nil {
		damage = checkFile(o.path)
	}
	aside := ""
	if damage != nil {
		if aside, err = o.setAside(damage); err != nil {
			unlock()
			return err
		}
	}
	// bbolt takes its own exclusive lock; a process that slips in between
	// makes bbolt time out, which is reported as ErrLocked below.
	unlock()
	db, err := openBolt(o.path, o.opts.LockTimeout, o.budget.allocSize)
	if errors.Is(err, ErrCorrupt) && aside == "" {
		// Damage the check did not see: the same treatment.
		damage = err
		if aside, err = o.setAside(damage); err != nil {
			return err
		}
		db, err = openBolt(o.path, o.opts.LockTimeout, o.budget.allocSize)
	}
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return fmt.Errorf("%w after %s (another lineside instance may be running)", ErrLocked, o.opts.LockTimeout)
	case errors.As(err, &pathErr):
		return err
	case err != nil:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	o.db = db
	if err := o.init(); err != nil {
		_ = db.Close()
		return err
	}
	if aside != "" {
		o.salvage(aside, damage)
	}
	o.budget.observe(db)
	return nil
}

// waitLock takes a shared lock on an existing store file so that no other
// process writes it while it is checked, waiting up to timeout. The returned
// function releases it.
func waitLock(path string, timeout time.Duration) (func(), error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock: %w", err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w after %s (another lineside instance may be running)", ErrLocked, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var once bool
	return func() {
		if !once {
			once = true
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}
	}, nil
}

// setAside renames a damaged file to PATH.corrupt-TIMESTAMP and returns the
// new name. The file is never deleted.
func (o *Outbox) setAside(damage error) (string, error) {
	aside := fmt.Sprintf("%s.corrupt-%s", o.path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(o.path, aside); err != nil {
		return "", fmt.Errorf("store is damaged (%v) and cannot be renamed aside: %w", damage, err)
	}
	o.log.Error("store file is damaged; renamed aside, salvaging what can be read", "path", o.path, "aside", aside, "err", damage)
	return aside, nil
}

// openBolt opens a file that passed checkFile. A panic or a fault from bbolt
// on damage the check missed is reported as ErrCorrupt instead.
func openBolt(path string, lockTimeout time.Duration, allocSize int) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		// The freelist is rebuilt on open instead of being written on every
		// commit, which keeps the per-group cost to the records themselves.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err == nil && allocSize > 0 {
		db.AllocSize = allocSize
	}
	return db, err
}

// init creates the buckets, checks the schema, counts the records and loads
// the drops not yet reported. A panic from bbolt is turned into ErrCorrupt.
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
		o.drops.load(meta.Get(keyDrops), o.log)
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

// checkFile reads the whole file the way bbolt will and returns what is
// wrong with it, or nil.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%w: empty file", errDamaged)
	}
	pf, err := openPageFile(f, fi.Size(), true)
	if err != nil {
		return err
	}
	lost := 0
	return pf.walk(pf.meta.root, nil, nil, 0, true, &lost, func(e element) error {
		if !e.bucket {
			return fmt.Errorf("%w: root holds a value %q", errDamaged, e.key)
		}
		_, err := pf.bucket(e.value, 1, true, &lost, func(r element) error {
			if r.bucket {
				return fmt.Errorf("%w: unexpected nested bucket %q", errDamaged, r.key)
			}
			if string(e.key) != string(bucketRecords) {
				return nil
			}
			if len(r.key) != len(Key{}) {
				return fmt.Errorf("%w: record key %x", errDamaged, r.key)
			}
			var m Message
			copy(m.Key[:], r.key)
			return decodeValue(&m, r.value)
		})
		return err
	})
}
