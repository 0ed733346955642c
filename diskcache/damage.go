package diskcache

// This file holds what keeps damage in the database file from crashing or
// wedging the process once bbolt has it open: every bbolt call goes through
// call, which turns a fault or a panic into an error and breaks the
// database, so that later calls fail at once without touching bbolt.

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// closeWait bounds how long Close waits for bbolt to close a broken
// database; see closeBolt.
const closeWait = time.Second

// errNotCommitted is the outcome of a write that a commit left without one
// (a panic outside bbolt, after other writes were done).
var errNotCommitted = errors.New("diskcache: write not committed")

// guard runs fn, which calls bbolt, with the goroutine's memory faults turned
// into panics (debug.SetPanicOnFault), and returns a panic as an error
// wrapping ErrDamaged. bbolt reads its file through a memory map: a page cut
// off by truncation faults (SIGBUS), a wild page id faults (SIGSEGV), and
// damaged page contents make it index out of range; each would end the
// process. Whatever fn returns must be copied out of bbolt's memory before
// fn returns: the map may be unmapped once bbolt's transaction ends.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, r)
		}
		debug.SetPanicOnFault(old)
	}()
	return fn()
}

// call runs fn, which calls bbolt, through guard, unless d is broken. A panic
// (damage that bbolt met, and so, in all likelihood, further damage that it
// would meet) breaks d: from then on, every call, and every method of its
// Stores, fails with that panic's error without touching bbolt, until d is
// closed and the directory opened again, which checks the file.
func (d *database) call(fn func() error) error {
	if err := d.failed(); err != nil {
		return err
	}
	err := guard(fn)
	if errors.Is(err, ErrDamaged) { // only guard's errors wrap it
		d.fail(err)
	}
	return err
}

// failed returns the error that broke d, or nil.
func (d *database) failed() error {
	if err := d.broken.Load(); err != nil {
		return *err
	}
	return nil
}

// fail breaks d with err, if it is not broken already.
func (d *database) fail(err error) {
	if d.broken.CompareAndSwap(nil, &err) {
		d.logger.Error("diskcache: the database is damaged; its stores fail every call until it is opened again",
			"dir", d.dir, "err", err)
	}
}

// close closes the bbolt file. bbolt's Close waits for the transactions in
// progress; a panic in a rollback (damage met while undoing a write) can
// leave one of them never to end, so that Close would wait for ever. For a
// broken database, it waits at most closeWait, then leaves bbolt's Close
// to a goroutine and the file open.
func (d *database) close() error {
	if d.failed() == nil {
		return guard(d.bolt.Close)
	}
	return closeBolt(d.bolt)
}

// closeBolt closes db, which met damage, waiting for it at most closeWait.
func closeBolt(db *bolt.DB) error {
	done := make(chan error, 1)
	go func() { done <- guard(db.Close) }()
	timer := time.NewTimer(closeWait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("%w: bbolt did not close the file within %v; it stays open", ErrDamaged, closeWait)
	}
}
