//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package diskcache

import (
	"os"
	"time"
)

// lockFile does nothing where flock(2) is missing: bbolt locks the file when
// it opens it, and the check and a move aside before that run unlocked.
func lockFile(*os.File, time.Duration) error { return nil }
