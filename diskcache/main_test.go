package diskcache

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		os.Exit(runChild(child)) // a process the tests re-executed; see process_test.go
	}
	goleak.VerifyTestMain(m)
}
