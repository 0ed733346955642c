package diskcache

// This file holds how Open opens a database file: it takes the file's lock,
// checks the file (check.go) before bbolt reads it, moves a damaged file
// aside and starts a new one, and only then hands the file to bbolt.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// damagedName is the name a damaged database file is moved to, in its
// directory; a file moved there before is replaced: one is kept.
const damagedName = fileName + ".damaged"

// lockRetry is how often openLocked tries again for a lock another process
// holds, as bbolt does.
const lockRetry = 50 * time.Millisecond

// errLockTimeout reports that lockFile waited for the lock in vain.
var errLockTimeout = errors.New("diskcache: lock timeout")

// openedFile is a database file that openFile opened.
type openedFile struct {
	db *bolt.DB
	// recovered is the damage found in the file at dir, which was moved
	// aside, or nil.
	recovered error
	// recounted holds the counters that were corrected, or nil.
	recounted *counts
}

// openFile opens the database file in dir. A damaged file is moved aside
// and a new one opened in its place.
func openFile(dir string, cfg config) (openedFile, error) {
	file, damage, err := openChecked(dir, cfg)
	if damage != nil && err == nil {
		file, err = openNew(dir, cfg)
		file.recovered = damage
	}
	if errors.Is(err, errLockTimeout) || errors.Is(err, bolterrors.ErrTimeout) {
		return openedFile{}, fmt.Errorf("diskcache: cannot open %s: another process holds its lock (waited %v): %w",
			dir, cfg.lockTimeout, ErrLocked)
	}
	if err != nil {
		return openedFile{}, fmt.Errorf("diskcache: open %s: %w", dir, err)
	}
	return file, nil
}

// openNew opens the database file in dir after its damaged file was moved
// aside: it finds no file, or the one another process has just created.
func openNew(dir string, cfg config) (openedFile, error) {
	file, damage, err := openChecked(dir, cfg)
	if damage != nil && err == nil {
		return openedFile{}, fmt.Errorf("the new file is damaged too: %w", damage)
	}
	return file, err
}

// openChecked opens the database file in dir, locked, checks it, and gives
// it to bbolt. If the file is damaged, or bbolt panics while it opens it, it
// moves the file aside (with the lock held, so that no other process is
// using it) and returns the damage, or an error if the file could not be
// moved.
func openChecked(dir string, cfg config) (file openedFile, damage, err error) {
	path := filepath.Join(dir, fileName)
	f, err := openLocked(path, cfg.lockTimeout)
	if err != nil {
		return openedFile{}, nil, err
	}
	state, damage := checkFile(f, cfg.checkTimeout)
	if damage != nil {
		err := moveAside(dir)
		return openedFile{}, damage, errors.Join(err, f.Close())
	}
	var db *bolt.DB
	var recounted *counts
	err = guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:  cfg.lockTimeout,
			OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
		})
		if err != nil {
			return err // bbolt closed f
		}
		return db.Update(func(tx *bolt.Tx) error {
			recounted, err = initialize(tx, state)
			return err
		})
	})
	switch {
	case errors.Is(err, ErrDamaged): // a panic, which the check should have prevented
		moveErr := moveAside(dir)
		if db != nil {
			return openedFile{}, err, errors.Join(moveErr, closeBolt(db))
		}
		return openedFile{}, err, errors.Join(moveErr, f.Close())
	case err != nil:
		if db != nil {
			db.Close()
		}
		return openedFile{}, nil, err
	}
	return openedFile{db: db, recounted: recounted}, nil, nil
}

// openLocked opens the file at path, creating it if needed, and takes its
// lock (lockFile), waiting for another process to release it for at most
// timeout. If the file it locked is no longer at path once it has the lock
// (another process moved it aside meanwhile), it opens path again.
func openLocked(path string, timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f, time.Until(deadline)); err != nil {
			f.Close()
			return nil, err
		}
		locked, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if current, err := os.Stat(path); err == nil && os.SameFile(locked, current) {
			return f, nil
		}
		f.Close()
		if time.Now().After(deadline) {
			return nil, errLockTimeout
		}
	}
}

// moveAside moves the database file in dir to damagedName, replacing the
// file moved there before; if it cannot be moved, it is removed.
func moveAside(dir string) error {
	path := filepath.Join(dir, fileName)
	err := os.Rename(path, filepath.Join(dir, damagedName))
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if rmErr := os.Remove(path); rmErr != nil {
		return fmt.Errorf("%w: cannot move the damaged file aside (%v) or remove it: %v", ErrDamaged, err, rmErr)
	}
	return nil
}
