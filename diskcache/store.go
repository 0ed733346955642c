package diskcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/acachecontrol/acache"
)

var (
	// ErrLocked reports that another process has the directory open: [Open]
	// waited for its lock for the lock timeout ([WithLockTimeout]).
	ErrLocked = errors.New("diskcache: store in use by another process")
	// ErrClosed is returned by the methods of a [Store] after its Close.
	ErrClosed = errors.New("diskcache: store closed")
	// ErrDamaged reports damage in a store's database file. [Store.Damage]
	// returns an error wrapping it when [Open] found the file damaged (it
	// moved the file aside and started the store empty), or when the store
	// met damage since: every method of the store then fails with that
	// error, until the Stores of the directory are closed and it is opened
	// again. See "Damage" in the package documentation.
	ErrDamaged = errors.New("diskcache: store damaged")
)

var (
	_ acache.Backend = (*Store)(nil)
	_ acache.Sizer   = (*Store)(nil)
	_ acache.Peeker  = (*Store)(nil)
)

// Store is an [acache.Backend] that keeps entries in a bbolt database in a
// directory, an [acache.Sizer], an [acache.Peeker] and an
// [acache.Committer] (see "Storing as one operation" in the package
// documentation). It is safe for concurrent use by multiple goroutines; its
// zero value is not usable: call [Open].
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
// Open checks the database file before it uses it. A damaged file is moved
// aside (to dir/acache.db.damaged) and the store starts empty: Open
// succeeds, and [Store.Damage] says why (see "Damage" in the package
// documentation).
//
// Several Stores of one process may have the same directory open; they share
// one database. A directory that another process has open cannot be opened:
// Open waits for that process to close it for at most the lock timeout
// ([WithLockTimeout]), then fails with an error wrapping [ErrLocked].
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{
		lockTimeout:  DefaultLockTimeout,
		checkTimeout: DefaultCheckTimeout,
		logger:       slog.New(slog.DiscardHandler),
	}
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
	db, opened, err := openDatabase(path, cfg)
	registry.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if opened {
		db.logOpen()
	}
	return &Store{db: db}, nil
}

// Damage returns the damage found in the store's database file, an error
// wrapping [ErrDamaged], or nil: the damage that [Open] found (it moved the
// file aside, and the store started empty), or the damage met since, which
// stopped the store (every method then fails with it until the Stores of
// the directory are closed and it is opened again, when Open checks the
// file). The Stores that share a directory share its damage.
func (s *Store) Damage() error {
	if s == nil || s.db == nil {
		return nil
	}
	if err := s.db.failed(); err != nil {
		return err
	}
	return s.db.recovered
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

// ready returns the error that keeps an operation from starting: a done ctx,
// a closed store or a broken database.
func (s *Store) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db == nil || s.closed.Load() {
		return ErrClosed
	}
	return s.db.failed()
}
