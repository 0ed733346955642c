package diskcache

import "time"

// DefaultLockTimeout is how long [Open] waits, by default, for another
// process to release its lock on a store's directory; see [WithLockTimeout].
const DefaultLockTimeout = time.Second

// An Option configures a [Store] in [Open].
type Option struct {
	apply func(*config)
}

// config holds what the options of Open set.
type config struct {
	lockTimeout time.Duration
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
