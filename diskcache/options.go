package diskcache

import (
	"log/slog"
	"time"
)

const (
	// DefaultLockTimeout is how long [Open] waits, by default, for another
	// process to release its lock on a store's directory; see
	// [WithLockTimeout].
	DefaultLockTimeout = time.Second
	// DefaultCheckTimeout is how long, by default, [Open] may spend checking
	// the database file before it counts the file as damaged; see
	// [WithCheckTimeout].
	DefaultCheckTimeout = 10 * time.Second
)

// An Option configures a [Store] in [Open].
type Option struct {
	apply func(*config)
}

// config holds what the options of Open set.
type config struct {
	lockTimeout  time.Duration
	checkTimeout time.Duration
	logger       *slog.Logger
}

// WithLockTimeout sets how long [Open] waits for another process that has the
// same directory open to close it. Past it, Open fails with an error wrapping
// [ErrLocked]. d <= 0 means [DefaultLockTimeout].
//
// It applies when Open opens the database file; an Open of a directory this
// process already has open shares that database at once, and ignores it.
func WithLockTimeout(d time.Duration) Option {
	return Option{func(c *config) {
		if d > 0 {
			c.lockTimeout = d
		}
	}}
}

// WithCheckTimeout sets how long [Open] may spend checking the database file
// before bbolt reads it (see "Damage" in the package documentation). A check
// that takes longer counts as damage: the file is moved aside and the store
// starts empty. The check reads the pages of the file's trees, but not the
// overflow pages of large entries: at most as much as reading the file once
// (about 40 ms for a 40 MB file from the page cache; see BenchmarkOpen).
// Raise it for a very large store on a slow disk. d <= 0 means
// [DefaultCheckTimeout].
//
// It applies when Open opens the database file, as [WithLockTimeout] does.
func WithCheckTimeout(d time.Duration) Option {
	return Option{func(c *config) {
		if d > 0 {
			c.checkTimeout = d
		}
	}}
}

// WithLogger sets the logger that records what the store does about damage:
// a damaged file moved aside at Open, counters recounted at Open, and damage
// met later, which stops the store (see "Damage" in the package
// documentation). If nil, or without this option, nothing is logged.
//
// It applies when Open opens the database file, as [WithLockTimeout] does:
// the database that the Stores of one directory share logs to the logger of
// the Open that opened it.
func WithLogger(l *slog.Logger) Option {
	return Option{func(c *config) {
		if l != nil {
			c.logger = l
		}
	}}
}
