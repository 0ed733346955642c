package diskcache

// This file holds the database a process shares between the Stores open on
// one directory: the registry that finds it, the group commit that writes to
// it, and the recency updates (touches) kept in memory between commits.

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fileName is the name of the database file in a store's directory.
const fileName = "acache.db"

const (
	// flushInterval is how often pending touches are written.
	flushInterval = time.Second
	// flushTouches is how many pending touches start a write before the
	// interval ends.
	flushTouches = 1024
	// maxTouches bounds the pending touches: past it, while writes fail,
	// further touches are dropped (they only cost recency).
	maxTouches = 1 << 16
)

// registry holds the databases this process has open, by the cleaned,
// absolute, symlink-free path of their directory: bbolt locks its file per
// open file, so a second bolt.Open of the same file in one process would wait
// for the first to close.
var registry = struct {
	// mu guards dbs, and the refs of every database in it.
	mu  sync.Mutex
	dbs map[string]*database
}{dbs: make(map[string]*database)}

// database is one open bbolt file, shared by the Stores of its directory.
type database struct {
	dir    string // the key in the registry
	bolt   *bolt.DB
	refs   int // the open Stores; guarded by registry.mu
	logger *slog.Logger

	// recovered is the damage openFile found in the file, which it moved
	// aside, or nil.
	recovered error
	// recounted holds the counters Open found, if it had to correct them.
	recounted *counts
	// broken holds the damage that stopped the database (see call), or nil.
	broken atomic.Pointer[error]

	// mu guards the fields below it.
	mu sync.Mutex
	// queue holds the writes waiting for the next commit.
	queue []*write
	// committing is set while a writer commits for the others.
	committing bool
	// touches holds the pending touches by slot; the touch with the lowest
	// seq happened first.
	touches  map[slot]touch
	touchSeq uint64

	// memory holds decoded entries, updated after each commit.
	memory memory

	kick    chan struct{} // asks the flusher to write the touches now
	stop    chan struct{} // closed to stop the flusher
	stopped chan struct{} // closed when the flusher returns
}

// touch is a pending MoveToEnd.
type touch struct {
	seq uint64
	key string
}

// write is one function waiting to run in a write transaction.
type write struct {
	fn func(buckets) error // nil only writes the touches
	// after, if not nil, runs with the outcome of fn's commit, before the
	// next commit: it updates memory in commit order.
	after func(error)
	err   error
	// done receives true to make its writer commit the queue, or false
	// once the write is committed (or failed, with err set).
	done chan bool
}

// openDatabase returns the database of the directory dir (absolute and
// clean), opening it if this process has not, and reports whether it opened
// it. The caller holds registry.mu.
func openDatabase(dir string, cfg config) (d *database, opened bool, err error) {
	if d := registry.dbs[dir]; d != nil {
		d.refs++
		return d, false, nil
	}
	file, err := openFile(dir, cfg)
	if err != nil {
		return nil, false, err
	}
	d = &database{
		dir:       dir,
		bolt:      file.db,
		refs:      1,
		logger:    cfg.logger,
		recovered: file.recovered,
		recounted: file.recounted,
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	go d.flusher()
	registry.dbs[dir] = d
	return d, true, nil
}

// logOpen logs what Open did about damage when it opened d.
func (d *database) logOpen() {
	if d.recovered != nil {
		d.logger.Warn("diskcache: damaged database moved aside; the store starts empty",
			"dir", d.dir, "moved_to", damagedName, "err", d.recovered)
	}
	if c := d.recounted; c != nil {
		d.logger.Warn("diskcache: corrected the stored counters",
			"dir", d.dir, "entries", c.entries, "bytes", c.bytes, "was_entries", c.wasEntries, "was_bytes", c.wasBytes)
	}
}

// initialize creates the buckets of a new database, checks the format of
// an existing one and upgrades one of previousFormat. If the counters of the
// meta bucket are not state's (what checkFile counted in the index), it
// corrects them and returns what they were.
func initialize(tx *bolt.Tx, state fileState) (*counts, error) {
	for _, name := range bucketNames {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	b, err := bucketsOf(tx)
	if err != nil {
		return nil, err
	}
	if err := settleFormat(b); err != nil {
		return nil, err
	}
	meta := b.meta
	c := counts{
		entries: state.entries, bytes: state.bytes,
		wasEntries: counter(meta, metaCount), wasBytes: counter(meta, metaBytes),
	}
	if c.entries == c.wasEntries && c.bytes == c.wasBytes {
		return nil, nil
	}
	if err := meta.Put(metaCount, seqKey(c.entries)); err != nil {
		return nil, err
	}
	return &c, meta.Put(metaBytes, seqKey(c.bytes))
}

// settleFormat writes the format of a new database, upgrades one of
// previousFormat (upgrade.go), and refuses any other format.
func settleFormat(b buckets) error {
	switch v := b.meta.Get(metaFormat); {
	case v == nil:
	case len(v) == 1 && v[0] == formatVersion:
		return nil
	case len(v) == 1 && v[0] == previousFormat:
		if err := upgradeIndex(b); err != nil {
			return err
		}
	default:
		return fmt.Errorf("diskcache: database format %x, want %d", v, formatVersion)
	}
	return b.meta.Put(metaFormat, []byte{formatVersion})
}

// counts are the counters of the meta bucket that Open corrected.
type counts struct {
	entries, bytes       uint64 // as counted
	wasEntries, wasBytes uint64 // as stored
}

// release drops one reference to d, and closes it after writing the pending
// touches when it was the last.
func (d *database) release() error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	d.refs--
	if d.refs > 0 {
		return d.update(nil, nil)
	}
	delete(registry.dbs, d.dir)
	close(d.stop)
	<-d.stopped
	err := d.update(nil, nil)
	return errors.Join(err, d.close())
}

// flusher writes the pending touches every flushInterval, or sooner when
// there are flushTouches of them, until d.stop is closed.
func (d *database) flusher() {
	defer close(d.stopped)
	ticker := time.NewTicker(flushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-ticker.C:
		case <-d.kick:
		}
		d.mu.Lock()
		pending := len(d.touches)
		d.mu.Unlock()
		if pending > 0 {
			d.update(nil, nil) // an error leaves recency as it was, nothing else
		}
	}
}

// addTouch records a MoveToEnd of key, stored in s.
func (d *database) addTouch(s slot, key string) {
	d.mu.Lock()
	if d.touches == nil {
		d.touches = make(map[slot]touch)
	}
	n := len(d.touches)
	if _, ok := d.touches[s]; ok || n < maxTouches {
		d.touchSeq++
		d.touches[s] = touch{seq: d.touchSeq, key: key}
	}
	d.mu.Unlock()
	if n+1 >= flushTouches {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// takeTouches removes the pending touches from d and returns them, oldest
// first.
func (d *database) takeTouches() []slotTouch {
	d.mu.Lock()
	touches := d.touches
	d.touches = nil
	d.mu.Unlock()
	list := make([]slotTouch, 0, len(touches))
	for s, t := range maps.All(touches) {
		list = append(list, slotTouch{s, t})
	}
	slices.SortFunc(list, func(a, b slotTouch) int { return cmp.Compare(a.seq, b.seq) })
	return list
}

type slotTouch struct {
	slot slot
	touch
}

// update runs fn in a write transaction, after the touches pending when the
// transaction starts, and returns once it is committed (with fsync) or has
// failed. Concurrent updates share one transaction and one fsync: the first
// writer commits its write with those that queue up while the commit before
// it runs (group commit), so a writer waits for at most two commits, and
// never on a timer. fn may run more than once (alone, when another write in
// its group failed), so it must take everything it changes from the
// transaction, and reset what it returns.
//
// Every way out of a commit, a panic included, wakes the writers of its
// group and hands the next commit over (handOff): a writer never waits for
// a commit that will not come.
func (d *database) update(fn func(buckets) error, after func(error)) error {
	if err := d.failed(); err != nil {
		return err
	}
	w := &write{fn: fn, after: after, done: make(chan bool, 1)}
	d.mu.Lock()
	d.queue = append(d.queue, w)
	lead := !d.committing
	d.committing = true
	d.mu.Unlock()
	if !lead && !<-w.done {
		return w.err // committed by another writer
	}
	d.mu.Lock()
	group := d.queue
	d.queue = nil
	d.mu.Unlock()
	defer d.handOff(group, w)
	d.commit(group)
	return w.err
}

// handOff wakes the writers of group but w, the one that committed it, and
// makes the first writer queued since commit the next group, if there is
// one.
func (d *database) handOff(group []*write, w *write) {
	for _, other := range group {
		if other != w {
			other.done <- false
		}
	}
	d.mu.Lock()
	if len(d.queue) > 0 {
		d.queue[0].done <- true // the next writer commits the next group
	} else {
		d.committing = false
	}
	d.mu.Unlock()
}

// commit runs group in one write transaction; if that fails, it runs each
// write in a transaction of its own, so that one write's error is not
// another's. Each runs through call: damage, a panic, fails the writes and
// breaks the database.
func (d *database) commit(group []*write) {
	for _, w := range group {
		w.err = errNotCommitted // until a commit says otherwise
	}
	touches := d.takeTouches()
	err := d.call(func() error {
		return d.bolt.Update(func(tx *bolt.Tx) error {
			b, err := bucketsOf(tx)
			if err != nil {
				return err
			}
			for _, t := range touches {
				if err := b.touch(&t.slot, t.key); err != nil {
					return err
				}
			}
			for _, w := range group {
				if w.fn != nil {
					if err := w.fn(b); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
	if err == nil || len(group) == 1 || d.failed() != nil {
		for _, w := range group {
			w.err = err
		}
		for _, w := range group {
			if w.after != nil {
				w.after(err)
			}
		}
		return
	}
	for _, w := range group {
		w.err = d.call(func() error {
			return d.bolt.Update(func(tx *bolt.Tx) error {
				b, err := bucketsOf(tx)
				if err != nil || w.fn == nil {
					return err
				}
				return w.fn(b)
			})
		})
		if w.after != nil {
			w.after(w.err)
		}
	}
}

// view runs fn in a read-only transaction, through call, with the bucket
// name only (a read opens no more buckets than it reads: each costs a
// search). What fn returns must not point into the transaction's memory.
func (d *database) view(name []byte, fn func(*bolt.Bucket) error) error {
	return d.viewTx(func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("diskcache: bucket %s is missing from the database", name)
		}
		return fn(b)
	})
}

// viewTx runs fn in a read-only transaction, through call, for a read of
// several buckets. What fn returns must not point into the transaction's
// memory.
func (d *database) viewTx(fn func(*bolt.Tx) error) error {
	return d.call(func() error { return d.bolt.View(fn) })
}

// mkdir creates dir if needed and returns the path the registry knows it by.
func mkdir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("diskcache: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("diskcache: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("diskcache: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("diskcache: %w", err)
	}
	return filepath.Clean(real), nil
}
