package diskcache

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the tests and fails if a goroutine is left after them, or
// runs a child process the tests re-executed. goleak's own retries end
// after half a second, less than a loaded machine may take to end the
// goroutines the last tests released: it is asked again for up to
// liveness.
func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		os.Exit(runChild(child)) // a process the tests re-executed; see process_test.go
	}
	code := m.Run()
	if code == 0 {
		err := goleak.Find()
		for deadline := time.Now().Add(liveness); err != nil && time.Now().Before(deadline); {
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
