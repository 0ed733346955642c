package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

// TestMain fails the run if a goroutine outlives the tests: the conformance
// suite calls the backend from many at once.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSliceBackend(t *testing.T) {
	acachetest.TestBackend(t, func(*testing.T) acache.Backend { return new(SliceBackend) })
}
