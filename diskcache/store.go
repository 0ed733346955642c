package diskcache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/acachecontrol/acache"
)

var (
	// ErrLocked reports that another process has the directory open: [Open]
	// waited for its lock for the lock timeout ([WithLockTimeout]).
	ErrLocked = errors.New("diskcache: store in use by another process")
	// ErrClosed is returned by the methods of a [Store] after its Close.
	ErrClosed = errors.New("diskcache: store closed")
)

var (
	_ acache.Backend = (*Store)(nil)
	_ acache.Sizer   = (*Store)(nil)
	_ acache.Peeker  = (*Store)(nil)
)

// Store is an [acache.Backend] that keeps entries in a bbolt database in a
// directory, and an [acache.Sizer]. It is safe for concurrent use by multiple
// goroutines; its zero value is not usable: call [Open].
//
// The Stores that one process opens on one directory share one database: an
// entry one of them stores is seen by all. Each must be closed.
type Store struct {
	db     *database
	closed atomic.Bool
}

// Open opens the store in directory dir, creating the directory (mode 0700)
// and the database file in it (dir/acache.db, mode 0600) if needed.
//
// Several Stores of one process may have the same directory open; they share
// one database. A directory that another process has open cannot be opened:
// Open waits for that process to close it for at most the lock timeout
// ([WithLockTimeout]), then fails with an error wrapping [ErrLocked].
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{lockTimeout: DefaultLockTimeout}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&cfg)
		}
	}
	path, err := mkdir(dir)
	if err != nil {
		return nil, err
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	db, err := openDatabase(path, cfg)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close writes the pending recency updates and releases s; the database file
// is closed when the last Store of this process on the directory is closed.
// Calling Close again does nothing and returns nil.
func (s *Store) Close() error {
	if s == nil || s.db == nil || s.closed.Swap(true) {
		return nil
	}
	if err := s.db.release(); err != nil {
		return fmt.Errorf("diskcache: close: %w", err)
	}
	return nil
}

// ready returns the error that keeps an operation from starting: a done ctx
// or a closed store.
func (s *Store) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db == nil || s.closed.Load() {
		return ErrClosed
	}
	return nil
}
