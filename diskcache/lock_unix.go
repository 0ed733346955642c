//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package diskcache

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile takes the exclusive lock on f that bbolt takes (flock(2)),
// waiting for at most timeout, then failing with errLockTimeout. bbolt, given
// f, takes the same lock again at once: a process holds a flock through the
// open file, not through each call.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errLockTimeout
		}
		time.Sleep(lockRetry)
	}
}
