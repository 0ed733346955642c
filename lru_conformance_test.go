package acache_test

import (
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

func TestLRUConformance(t *testing.T) {
	acachetest.TestBackend(t, func(*testing.T) acache.Backend { return acache.NewLRU() })
}

func TestLRUCommitterConformance(t *testing.T) {
	acachetest.TestCommitter(t, func(*testing.T) acache.Backend { return acache.NewLRU() })
}

// TestLRUFleet runs Caches sharing one LRU, as the Caches of one process
// may.
func TestLRUFleet(t *testing.T) {
	acachetest.TestFleet(t, func(_ *testing.T, n int) []acache.Backend {
		l := acache.NewLRU()
		backends := make([]acache.Backend, n)
		for i := range backends {
			backends[i] = l
		}
		return backends
	})
}
